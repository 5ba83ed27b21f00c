# Queue operations seen at the queue's mutex (3.14+) must be the same
# events as through the wrappers (3.10-3.13): every way in is counted.
import queue
import threading


class RQueue(queue.Queue):
    # Its mutex is an RLock: it cannot stand for the queue (wrapped instead).
    def __init__(self):
        super().__init__()
        self.mutex = threading.RLock()
        self.not_empty = threading.Condition(self.mutex)
        self.not_full = threading.Condition(self.mutex)
        self.all_tasks_done = threading.Condition(self.mutex)


# More queues alive at once than weft's table of mutexes holds (the rest wrapped).
live = [queue.Queue() for _ in range(9000)]
for i, q in enumerate(live):
    q.put(i)
print(sum(q.get() for q in live))
del live, q
# Many made and dropped one after another (their mutexes' slots reused).
for i in range(20000):
    q = queue.Queue()
    q.put(i)
    q.get()
r = RQueue()
r.put("r")
print(r.get())
# Not operations: no events.
q = queue.Queue(maxsize=2)
with q.mutex:
    q.queue.append("inside")
print(q.qsize(), q.empty(), q.full())
q.put("x")
try:
    q.put("y", block=False)
except queue.Full:
    print("full")
q.get()
q.get()
q.task_done()
q.join()
try:
    q.get(timeout=0.01)
except queue.Empty:
    print("empty")
# A get that waits for another thread's put.
w = queue.Queue()
t = threading.Timer(0.05, w.put, ("late",))
t.start()
print(w.get())
t.join()
