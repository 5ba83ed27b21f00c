# expect: none
# Phases separated by a Barrier: writes of one phase are read in the next.
import threading

cells = {}
barrier = threading.Barrier(2)


def work(me, other):
    cells[me] = me * 10
    barrier.wait()
    return cells[other]


threads = [threading.Thread(target=work, args=(0, 1)), threading.Thread(target=work, args=(1, 0))]
for t in threads:
    t.start()
for t in threads:
    t.join()
