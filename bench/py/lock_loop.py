# argv[1] "with lock:" blocks in one thread, at module level: what
# bench/lock_instructions.sh counts instructions per block of.
import sys
import threading

lock = threading.Lock()
n = int(sys.argv[1])
c = 0
for _ in range(n):
    with lock:
        c += 1
