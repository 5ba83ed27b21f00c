# expect: lost_update Job.processed
# runs: 10
# Tasks of one ThreadPoolExecutor update a shared counter: the executor's own
# locks order nothing between its workers, so every run finds it.
import time
from concurrent.futures import ThreadPoolExecutor


class Job:
    def __init__(self):
        self.processed = 0

    def task(self, n):
        self.processed += 1
        # Long enough that the pool's other workers take tasks too: a run in
        # which one worker did all 40 (a busy machine) has no race to find.
        time.sleep(0.002)
        return n


job = Job()
with ThreadPoolExecutor(max_workers=4) as pool:
    list(pool.map(job.task, range(40)))
