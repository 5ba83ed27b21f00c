# argv[1] items through queue.Queue, one producer and one consumer: GIL
# hand-offs, queue waits and lock holds in every commit of the trace.
import queue
import sys
import threading

n_items = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
q = queue.Queue(maxsize=100)


def producer():
    for i in range(n_items):
        q.put(i)
    q.put(None)


def consumer():
    n = 0
    while q.get() is not None:
        n += 1
    assert n == n_items


threads = [threading.Thread(target=producer, name="producer"),
           threading.Thread(target=consumer, name="consumer")]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("moved", n_items)
