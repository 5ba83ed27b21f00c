# Locks taken in loops, long enough that weft reads the innermost frame
# from what it remembers of this thread's last stacks: each event must
# still carry its own line, with three places taking turns (more than the
# two remembered), a release on another line than its acquire, and a fork
# child whose ring must define the code again.
import os
import sys
import threading

lock = threading.Lock()
n = int(sys.argv[1]) if len(sys.argv) > 1 else 200


def loop():
    for i in range(n):
        with lock:
            pass
        if i % 3 == 0:
            lock.acquire()
            lock.release()
        elif i % 3 == 1:
            lock.acquire()
            x = i
            lock.release()


loop()
pid = os.fork()
if pid == 0:
    loop()
    os._exit(0)
os.waitpid(pid, 0)
