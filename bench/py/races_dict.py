# A dict-heavy workload for the race detector's overhead: 4 threads count
# into their own dicts while reading a shared read-only table, then merge
# under a lock. Race-free, so the detector only checks.
import threading

table = {i: i * 7 for i in range(1000)}
merged = {}
lock = threading.Lock()


def work(seed):
    counts = {}
    for i in range(600_000):
        k = (i * seed) % 1000
        counts[k] = counts.get(k, 0) + table[k]
    with lock:
        for k, v in counts.items():
            merged[k] = merged.get(k, 0) + v


threads = [threading.Thread(target=work, args=(s,)) for s in (3, 5, 7, 11)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(len(merged))
