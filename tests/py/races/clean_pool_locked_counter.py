# expect: none
# Tasks of one pool update a counter under the program's own lock.
import threading
from concurrent.futures import ThreadPoolExecutor


class Job:
    def __init__(self):
        self.processed = 0
        self.lock = threading.Lock()

    def task(self, n):
        with self.lock:
            self.processed += 1
        return n


job = Job()
with ThreadPoolExecutor(max_workers=4) as pool:
    list(pool.map(job.task, range(40)))
print(job.processed)
