# expect: lost_update counts[
# keys: 2
# The metrics idiom: d[k] = d.get(k, 0) + 1 loses increments; two keys race on one line.
import threading

counts = {}


def record(name):
    counts[name] = counts.get(name, 0) + 1


def worker():
    for i in range(200):
        record("hits" if i % 2 else "misses")


threads = [threading.Thread(target=worker) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
