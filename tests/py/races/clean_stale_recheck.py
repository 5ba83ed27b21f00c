# expect: none
# The same cache, checked again under the lock before storing: both
# threads may make the item, only the first stores it.
import threading
import time

cache = {}
lock = threading.Lock()
start = threading.Barrier(2)


def make(key):
    time.sleep(0.05)
    return key.upper()


def get(key):
    with lock:
        if key in cache:
            return cache[key]
    item = make(key)
    with lock:
        return cache.setdefault(key, item)


def worker():
    start.wait()
    get("config")


threads = [threading.Thread(target=worker) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
