# argv[1] put-and-get pairs on a queue.Queue in one thread, inside a
# function: what bench/lock_instructions.sh counts per pair (queue_pc.py's
# work without its second thread).
import queue
import sys

q = queue.Queue(maxsize=1000)


def work(n):
    for i in range(n):
        q.put(i)
        q.get()


work(int(sys.argv[1]))
