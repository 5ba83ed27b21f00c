# expect: none
# The getattr/setattr counter under a lock.
import threading


class Stats:
    def __init__(self):
        self.requests = 0
        self.lock = threading.Lock()


stats = Stats()


def worker():
    for _ in range(100):
        with stats.lock:
            setattr(stats, "requests", getattr(stats, "requests") + 1)


threads = [threading.Thread(target=worker) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(stats.requests)
