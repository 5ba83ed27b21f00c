# expect: none
# The fixed cache: one lock around the check and the store.
import threading

cache = {}
lock = threading.Lock()


def getitem(key):
    with lock:
        item = cache.get(key)
        if item is None:
            item = [key]
            cache[key] = item
    return item


def worker():
    for i in range(100):
        getitem(i % 10)


threads = [threading.Thread(target=worker) for _ in range(3)]
for t in threads:
    t.start()
for t in threads:
    t.join()
