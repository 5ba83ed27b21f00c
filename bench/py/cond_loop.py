# argv[1] "with cond: cond.notify()" blocks in one thread, on a Condition
# over its default RLock, inside a function: what bench/lock_instructions.sh
# counts per block (with_rlock.py's work without its second thread).
import sys
import threading

cond = threading.Condition()
counter = 0


def work(n):
    global counter
    for _ in range(n):
        with cond:
            counter += 1
            cond.notify()


work(int(sys.argv[1]))
