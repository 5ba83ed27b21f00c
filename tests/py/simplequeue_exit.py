# A daemon thread still blocked in SimpleQueue.get when the program exits:
# weft records a lock.wait in its name on the queue (its wait shows to the
# end), though get is a C method with no frame to find the wait by.
import queue
import threading
import time

q = queue.SimpleQueue()


def consumer():
    while True:
        q.get()


t = threading.Thread(target=consumer, name="consumer", daemon=True)
t.start()
for i in range(5):
    q.put(i)
q.put_nowait(5)
time.sleep(0.1)
print("left", q.qsize())
