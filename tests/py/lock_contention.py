# A threading.Lock found taken, on every interpreter: acquire(False) fails,
# acquire(timeout=) waits and fails, a blocking acquire waits and gets it.
# On 3.13.1+ the Lock is a PyMutex, seen through weft's hooks on its type.
import _thread
import threading
import time

lock = threading.Lock()
held = threading.Event()
go = threading.Event()


def holder():
    with lock:
        held.set()
        go.wait()
        time.sleep(0.05)


t = threading.Thread(target=holder, name="holder")
t.start()
held.wait()
print(lock.acquire(False), lock.acquire(blocking=False), lock.acquire(timeout=0.02))
go.set()
with lock:
    pass
t.join()
try:
    lock.release()
except RuntimeError as e:
    print("error:", e)
spare = _thread.allocate_lock()
spare.acquire()
spare.release()
print(isinstance(lock, type(spare)), lock.locked(), lock.acquire.__name__, type(lock).__name__)
del spare
