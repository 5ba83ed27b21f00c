# expect: none
# A shared counter behind an RLock, taken re-entrantly.
import threading


class Counter:
    def __init__(self):
        self.lock = threading.RLock()
        self.n = 0

    def incr(self):
        with self.lock:
            self._add(1)

    def _add(self, k):
        with self.lock:
            self.n += k


c = Counter()
threads = [threading.Thread(target=lambda: [c.incr() for _ in range(300)]) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(c.n)
