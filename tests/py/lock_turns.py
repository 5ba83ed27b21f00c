# A Lock that two threads find taken once at the start, then one thread's
# `with lock:` blocks (argv[1], default 100000): the early wait must not keep
# the Lock's occupancy from being followed while the trace is written. The
# wait is short: the follower feeds up to twice the longest wait before the
# newest event, at least 2 ms.
import sys
import threading
import time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
lock = threading.Lock()
taken = threading.Event()


def holder():
    with lock:
        taken.set()
        time.sleep(0.002)


def waiter():
    taken.wait()
    with lock:  # waits for holder: a lock.wait at the start of the trace
        pass
    for _ in range(N):
        with lock:
            pass


threads = [threading.Thread(target=holder), threading.Thread(target=waiter)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("ok")
