# expect: lost_update Stats.requests
# A counter updated through getattr/setattr with a constant name.
import threading


class Stats:
    def __init__(self):
        self.requests = 0


stats = Stats()


def worker():
    for _ in range(100):
        setattr(stats, "requests", getattr(stats, "requests") + 1)


threads = [threading.Thread(target=worker) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
