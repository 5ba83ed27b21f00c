# expect: check_then_act self.free
# A connection pool's free list: two threads can both see one free
# connection and both pop it (the second pop raises on an empty list).
import threading


class Pool:
    def __init__(self):
        self.free = []
        self.made = 0

    def acquire(self):
        if len(self.free) > 0:
            return self.free.pop()
        return object()

    def release(self, conn):
        self.free.append(conn)


pool = Pool()
for _ in range(50):
    pool.free.append(object())


def worker():
    for _ in range(20):
        try:
            pool.acquire()
        except IndexError:
            pass


threads = [threading.Thread(target=worker) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
