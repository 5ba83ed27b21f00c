# Python locks used as Python allows (test_python.sh): a Lock handed between
# threads as a signal, one taken for the last time by a thread that ends, a
# Lock freed while locked, a signal Lock and another taken in both orders; and one
# real misuse: a thread that ends holding an RLock another thread then wants.
import _thread
import gc
import threading

started = _thread.allocate_lock()
finish = _thread.allocate_lock()
started.acquire()
finish.acquire()


def handoff():
    started.release()  # another thread's Lock let go: a signal
    finish.acquire()  # taken for the last time; the thread ends holding it


t = threading.Thread(target=handoff, name="handoff")
t.start()
started.acquire()
finish.release()
t.join()
started.release()
other = threading.Lock()
with started:  # started, then other; then other, then started
    with other:
        pass
with other:
    with started:
        pass

freed = threading.Lock()
freed.acquire()
del freed
gc.collect()

rlock = threading.RLock()


def keep():
    rlock.acquire()  # ends holding an owned lock


u = threading.Thread(target=keep, name="keeper")
u.start()
u.join()
print("waited:", rlock.acquire(timeout=0.05))
