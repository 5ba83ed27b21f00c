# RLock re-entrant levels: nested acquires, and a Condition.wait that lets go
# of two levels and takes them back.
import threading

r = threading.RLock()
c = threading.Condition(r)


def deep(n):
    with r:
        if n:
            deep(n - 1)


deep(3)
with c:
    with c:
        c.wait(0.01)
print(r._is_owned())
