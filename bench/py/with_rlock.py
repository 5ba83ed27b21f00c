# 1M "with cond:" blocks (a Condition, whose lock is an RLock) split over 2
# threads, each block notifying: what a producer/consumer's guarded state
# costs, and on 3.10-3.13 the RLock's levels reported through a subclass.
import threading

cond = threading.Condition()
counter = 0


def work(n):
    global counter
    for _ in range(n):
        with cond:
            counter += 1
            cond.notify()


threads = [threading.Thread(target=work, args=(500_000,)) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
assert counter == 1_000_000
