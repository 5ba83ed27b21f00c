# A Lock's methods called every way, as weft's uncontended path and the
# originals must answer alike (test_python.sh compares with an untraced run).
import threading
l = threading.Lock()
try:
    l.release()
except RuntimeError as e:
    print("unlocked release:", e)
print(l.acquire(), l.locked(), l.acquire(False), l.acquire(timeout=0.01), l.acquire(blocking=False))
l.release(); print(l.locked())
with l:
    print("in with", l.locked())
print(l.locked(), l.__enter__(), l.__exit__(None, None, None), l.locked())
try:
    l.__exit__()
except Exception as e:
    print(type(e).__name__)
try:
    l.acquire(1, 2, 3)
except TypeError as e:
    print("TypeError")
# A Lock made inside queue's classes (not the program's: only called, never
# recorded), and the Condition over it whose notify asks it acquire(False).
import queue
q = queue.Queue()
m = q.mutex
print(m.acquire(False), m.acquire(False), m.locked(), q.not_empty._is_owned())
m.release()
print(m.locked(), q.not_empty._is_owned())
try:
    q.not_empty.notify()
except RuntimeError as e:
    print("notify unheld:", e)
with q.not_empty:
    q.not_empty.notify()
print(m.locked())
# An RLock's outermost level (inline on 3.14+) and its inner ones (the original's).
r = threading.RLock()
try:
    r.release()
except RuntimeError as e:
    print("unheld RLock release:", e)
print(r.acquire(), r.acquire(False), r._is_owned(), r.__enter__())
r.release(); r.__exit__(None, None, None); r.release()
print(r._is_owned(), repr(r).split(" object")[0].split()[0])
with r:
    print("in with", r._is_owned(), r.acquire(blocking=False))
    r.release()
print(r._is_owned())
