# expect: lost_update Stats.hits
# self.hits += 1 on a shared object.
import threading


class Stats:
    def __init__(self):
        self.hits = 0

    def hit(self):
        self.hits += 1


stats = Stats()


def work():
    for _ in range(500):
        stats.hit()


threads = [threading.Thread(target=work) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
