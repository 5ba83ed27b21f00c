# argv[1] "with lock:" blocks in one thread, inside a function as
# with_lock.py's are: what bench/lock_instructions.sh counts per block of.
import sys
import threading

lock = threading.Lock()
counter = 0


def work(n):
    global counter
    for _ in range(n):
        with lock:
            counter += 1


work(int(sys.argv[1]))
