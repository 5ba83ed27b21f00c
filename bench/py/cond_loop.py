# argv[1] "with cond: cond.notify()" blocks in one thread, on a Condition
# over its default RLock: what bench/lock_instructions.sh counts per block
# (with_rlock.py's work without its second thread).
import sys
import threading

cond = threading.Condition()
n = int(sys.argv[1])
for _ in range(n):
    with cond:
        cond.notify()
