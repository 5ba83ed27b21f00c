# expect: none
# A Condition-guarded buffer; the producer also writes after notify(), still under the lock.
import threading

buf = {"items": 0, "log": 0}
cond = threading.Condition()


def producer():
    for _ in range(50):
        with cond:
            buf["items"] += 1
            cond.notify()
            buf["log"] += 1


def consumer():
    taken = 0
    while taken < 50:
        with cond:
            while buf["items"] == 0:
                cond.wait()
            buf["items"] -= 1
            buf["log"] += 1
            taken += 1


threads = [threading.Thread(target=consumer), threading.Thread(target=producer)]
for t in threads:
    t.start()
for t in threads:
    t.join()
