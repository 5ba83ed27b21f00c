# expect: none
# multiprocessing.pool.ThreadPool: what tasks wrote is read after map() and get() return.
from multiprocessing.pool import ThreadPool


class Task:
    def __init__(self, n):
        self.n = n
        self.result = None


def run(task):
    task.result = task.n * 2
    return task


tasks = [Task(n) for n in range(20)]
with ThreadPool(4) as pool:
    done = pool.map(run, tasks)
    one = pool.apply_async(run, (Task(7),)).get()
    print(sum(t.result for t in done) + one.result)
