# Queue operations, every way in, counted exactly: many queues alive and
# made one after another, a subclass whose mutex is an RLock, calls that
# are not operations (no events), a get that waits for another thread.
# (Written for a try at recording 3.14's queues at their mutex, dropped:
# see docs/DESIGN.md.)
import queue
import threading


class RQueue(queue.Queue):
    # Its mutex is an RLock.
    def __init__(self):
        super().__init__()
        self.mutex = threading.RLock()
        self.not_empty = threading.Condition(self.mutex)
        self.not_full = threading.Condition(self.mutex)
        self.all_tasks_done = threading.Condition(self.mutex)


# Many queues alive at once.
live = [queue.Queue() for _ in range(9000)]
for i, q in enumerate(live):
    q.put(i)
print(sum(q.get() for q in live))
del live, q
# Many made and dropped one after another.
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
