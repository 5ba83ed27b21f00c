# expect: none
# concurrent.futures: inputs prepared before submit, results read through futures.
from concurrent.futures import ThreadPoolExecutor


class Task:
    def __init__(self, n):
        self.n = n
        self.result = None


def run(task):
    task.result = task.n * 2
    return task


tasks = [Task(n) for n in range(40)]
with ThreadPoolExecutor(max_workers=4) as pool:
    done = list(pool.map(run, tasks))
print(sum(t.result for t in done))
