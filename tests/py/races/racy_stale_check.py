# expect: stale_check cache[
# A cache whose check and store are each under the lock, with the lock let
# go between them to make the item: both threads miss the key, both make
# it, and the second store replaces the first.
import threading
import time

cache = {}
lock = threading.Lock()
start = threading.Barrier(2)


def make(key):
    time.sleep(0.05)  # both threads are here at once
    return key.upper()


def get(key):
    with lock:
        if key in cache:
            return cache[key]
    item = make(key)
    with lock:
        cache[key] = item
    return item


def worker():
    start.wait()
    get("config")


threads = [threading.Thread(target=worker) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
