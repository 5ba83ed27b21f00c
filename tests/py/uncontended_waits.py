# Calls weft records as waits that never blocked: an unbounded queue's put,
# a get that finds an item, a Semaphore with room, an Event already set, a
# join of a finished thread.
# They ran (derived spans, object_stats, contention); one acquire of a
# taken Semaphore, blocked 50 ms, stays a wait.
import queue
import threading
import time

q = queue.Queue()
room = threading.Semaphore(5)
done = threading.Event()
done.set()
gate = threading.Semaphore(1)


def producer():
    for i in range(200):
        q.put(i)
        with room:
            pass
        done.wait()


def blocked():
    with gate:
        pass


p = threading.Thread(target=producer, name="producer")
p.start()
p.join()
p.join()  # a finished thread: no wait
for _ in range(200):
    q.get()
gate.acquire()
b = threading.Thread(target=blocked, name="blocked")
b.start()
time.sleep(0.05)
gate.release()
b.join()
print("done")
