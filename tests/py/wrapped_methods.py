# Queue and Condition methods under weft are C wrappers around the originals:
# they must behave exactly as the originals do, however they are called.
import queue
import threading


class Sub(queue.Queue):
    def put(self, item, block=True, timeout=None):
        super().put(item, block, timeout)


q = queue.Queue()
q.put(1, block=True, timeout=5)  # keywords
queue.Queue.put(q, 2)  # through the class
print(q.get(timeout=5), q.get(False))
try:
    q.get(block=False)
except queue.Empty:
    print("empty")
try:
    q.put()
except TypeError:
    print("typeerror")
s = Sub()
s.put(3)
print(s.get())
c = threading.Condition()
with c:
    print(c.wait(timeout=0.01), c.wait_for(lambda: True, timeout=0.01))
    c.notify(n=2)
    c.notify()
    c.notify_all()
print(queue.Queue.put.__name__, threading.Condition.notify.__name__)
lock = threading.Lock()
with lock:  # after the exceptions above nothing is folded any more
    pass
