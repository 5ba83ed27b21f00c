# expect: none
# Workers write their own slot; the main thread reads everything after join().
import threading

results = {}


class Worker(threading.Thread):
    def __init__(self, n):
        super().__init__()
        self.n = n
        self.total = 0

    def run(self):
        for i in range(100):
            self.total += i
        results[self.n] = self.total


workers = [Worker(n) for n in range(3)]
for w in workers:
    w.start()
for w in workers:
    w.join()
print(sum(results[n] for n in range(3)), sum(w.total for w in workers))
