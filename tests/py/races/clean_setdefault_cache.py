# expect: none
# dict.setdefault is one atomic operation: the first value stored wins for everybody.
import threading

cache = {}


def getitem(key):
    item = cache.get(key)
    if item is None:
        item = cache.setdefault(key, [key])
    return item


def worker():
    for i in range(100):
        getitem(i % 10)


threads = [threading.Thread(target=worker) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
