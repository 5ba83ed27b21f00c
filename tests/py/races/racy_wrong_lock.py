# expect: lost_update totals[
# Each thread holds a lock, but not the same one: no order between them.
import threading

totals = {"n": 0}


def work():
    mine = threading.Lock()
    for _ in range(200):
        with mine:
            totals["n"] += 1


threads = [threading.Thread(target=work) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
