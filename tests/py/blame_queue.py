# A blame chain two links long (issue #21): "waiter" waits for a Lock that
# "holder" keeps while it waits on a Queue, which only the main thread's
# put ends. weft report's "Longest waits" names the chain.
import queue
import threading
import time

lock = threading.Lock()
q = queue.Queue()


def holder():
    with lock:
        q.get()  # holds the lock while it waits for a put


def waiter():
    time.sleep(0.05)
    with lock:
        pass


h = threading.Thread(target=holder, name="holder")
h.start()
w = threading.Thread(target=waiter, name="waiter")
w.start()
time.sleep(0.3)
q.put(1)
h.join()
w.join()
