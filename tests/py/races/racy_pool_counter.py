# expect: lost_update Job.processed
# runs: 10
# Tasks of one ThreadPoolExecutor update a shared counter: the executor's own
# locks order nothing between its workers, so every run finds it.
from concurrent.futures import ThreadPoolExecutor


class Job:
    def __init__(self):
        self.processed = 0

    def task(self, n):
        self.processed += 1
        return n


job = Job()
with ThreadPoolExecutor(max_workers=4) as pool:
    list(pool.map(job.task, range(40)))
