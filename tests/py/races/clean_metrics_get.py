# expect: none
# The metrics idiom under a lock.
import threading

counts = {}
lock = threading.Lock()


def record(name):
    with lock:
        n = counts.get(name, 0)
        counts[name] = n + 1


def worker():
    for i in range(200):
        record("hits" if i % 2 else "misses")


threads = [threading.Thread(target=worker) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(sorted(counts.items()))
