# A queue's join and task_done around put and get: weft folds the waits and
# notifies inside put and get into their events, but join's wait for the
# last task_done is the program's own (one cond.wait) and the task_done that
# ends it one cond.broadcast.
import queue
import threading
import time

q = queue.Queue(maxsize=0)
for i in range(500):
    q.put(i)


def consumer():
    time.sleep(0.05)  # join() is waiting by now
    while True:
        try:
            q.get_nowait()
        except queue.Empty:
            break
        q.task_done()


bounded = queue.Queue(maxsize=2)


def producer():
    for i in range(200):
        bounded.put(i)  # blocks while full: a wait folded into the put


t = threading.Thread(target=consumer, name="consumer")
p = threading.Thread(target=producer, name="producer")
t.start()
p.start()
q.join()
got = [bounded.get() for _ in range(200)]
t.join()
p.join()
print(q.unfinished_tasks, got == list(range(200)))
