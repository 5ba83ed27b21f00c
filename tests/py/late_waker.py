# A queue wait ended by a thread started long after the wait began: weft
# report's blame chain names that thread's put, and says it was running
# before it (it was not alive in the middle of the wait).
import queue
import threading
import time

q = queue.Queue()


def consumer():
    q.get()


def late():
    q.put(1)  # line 16


c = threading.Thread(target=consumer, name="consumer")
c.start()
time.sleep(0.2)
p = threading.Thread(target=late, name="late")
p.start()
p.join()
c.join()
