# argv[1] "with lock:" blocks in one worker thread: two records a block, one
# ring word each, so past 256K blocks the thread's ring (512K words) has
# gone round. test_python checks that the records past that lap cost what
# they cost on the first one, and that going round is no wait.
import sys
import threading

lock = threading.Lock()


def blocks(n):
    for _ in range(n):
        with lock:
            pass


worker = threading.Thread(target=blocks, args=(int(sys.argv[1]),), name="laps")
worker.start()
worker.join()
