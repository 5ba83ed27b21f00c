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
