# Threads blocked in each of Python's named waits at once (issue #18): the
# viewer's state panel names each in Python's terms. The main thread sleeps
# while they all wait, then lets each go; "stuck" is a daemon thread still
# in Queue.get on "leftover" when the program exits.
import queue
import threading
import time

jobs = queue.Queue()
leftover = queue.Queue()
cond = threading.Condition()
flag = threading.Event()
mutex = threading.Lock()
released = False


def take_job():
    jobs.get()


def wait_cond():
    with cond:
        while not released:
            cond.wait()


def wait_flag():
    flag.wait()


def take_mutex():
    with mutex:
        pass


def target():
    flag.wait()


def join_target():
    worker.join()


def nap():
    time.sleep(0.6)


def stuck():
    leftover.get()


mutex.acquire()
worker = threading.Thread(target=target, name="target")
threads = [threading.Thread(target=f, name=f.__name__)
           for f in (take_job, wait_cond, wait_flag, take_mutex, join_target, nap)]
worker.start()
for t in threads:
    t.start()
threading.Thread(target=stuck, name="stuck", daemon=True).start()
time.sleep(0.4)
jobs.put(1)
with cond:
    released = True
    cond.notify_all()
flag.set()
mutex.release()
for t in threads:
    t.join()
print("done")
