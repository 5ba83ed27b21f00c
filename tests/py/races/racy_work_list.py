# expect: check_then_act jobs
# A shared work list: "while jobs: jobs.pop()" lets two workers take the last job.
import threading

jobs = list(range(100))


def worker():
    while len(jobs) > 0:
        try:
            jobs.pop()
        except IndexError:
            break


threads = [threading.Thread(target=worker) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
