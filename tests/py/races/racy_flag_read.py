# expect: read_write Job.state
# One thread polls an attribute another thread sets, with nothing ordering them.
import threading
import time


class Job:
    def __init__(self):
        self.state = "new"


job = Job()


def runner():
    time.sleep(0.05)
    job.state = "done"


def watcher():
    for _ in range(20):
        if job.state == "done":
            break
        time.sleep(0.01)


threads = [threading.Thread(target=runner), threading.Thread(target=watcher)]
for t in threads:
    t.start()
for t in threads:
    t.join()
