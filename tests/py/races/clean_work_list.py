# expect: none
# The work list under a lock, results handed back through a queue.
import queue
import threading

jobs = list(range(100))
lock = threading.Lock()
results = queue.Queue()


def worker():
    while True:
        with lock:
            if len(jobs) == 0:
                return
            job = jobs.pop()
        results.put(job)


threads = [threading.Thread(target=worker) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(results.qsize())
