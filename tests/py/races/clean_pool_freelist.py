# expect: none
# The connection pool's free list with the check and the pop under one lock.
import threading


class Pool:
    def __init__(self):
        self.free = []
        self.lock = threading.Lock()

    def acquire(self):
        with self.lock:
            if len(self.free) > 0:
                return self.free.pop()
        return object()

    def release(self, conn):
        with self.lock:
            self.free.append(conn)


pool = Pool()
for _ in range(50):
    pool.free.append(object())


def worker():
    for _ in range(20):
        pool.release(pool.acquire())


threads = [threading.Thread(target=worker) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
