# One thread blocked in each kind of wait while the main thread holds
# everything back for a while, then lets them all go: weft's derived spans
# must show each one waiting on its object for the whole wait.
import queue
import threading
import time

lock = threading.Lock()
rlock = threading.RLock()
cond = threading.Condition()
event = threading.Event()
sem = threading.Semaphore(0)
barrier = threading.Barrier(2)
empty = queue.Queue()
full = queue.Queue(maxsize=1)
full.put(0)
ready = threading.Barrier(11)


def lockwait():
    ready.wait()
    with lock:
        pass


def rlockwait():
    ready.wait()
    with rlock:
        pass


def condwait():
    with cond:
        ready.wait()
        cond.wait()


def eventwait():
    ready.wait()
    event.wait()


def semwait():
    ready.wait()
    with sem:
        pass


def barrierwait():
    ready.wait()
    barrier.wait()


def getter():
    ready.wait()
    empty.get()


def putter():
    ready.wait()
    full.put(1)


def sleeper():
    ready.wait()
    time.sleep(0.4)


def joiner():
    ready.wait()
    sleeping.join()


lock.acquire()
rlock.acquire()
sleeping = threading.Thread(target=sleeper, name="sleeper")
threads = [threading.Thread(target=f, name=f.__name__)
           for f in (lockwait, rlockwait, condwait, eventwait, semwait, barrierwait, getter,
                     putter, joiner)]
sleeping.start()
for t in threads:
    t.start()
ready.wait()
time.sleep(0.3)
lock.release()
rlock.release()
with cond:  # held while condwait waits: it must not look held by both
    time.sleep(0.05)
    cond.notify()
event.set()
sem.release()
barrier.wait()
empty.put(1)
full.get()
for t in threads + [sleeping]:
    t.join()
print("done")
