# argv[1] put-and-get pairs on a queue.SimpleQueue in one thread, inside a
# function: what bench/lock_instructions.sh counts per pair (the work queue
# of every ThreadPoolExecutor is one).
import queue
import sys

q = queue.SimpleQueue()


def work(n):
    for i in range(n):
        q.put(i)
        q.get()


work(int(sys.argv[1]))
