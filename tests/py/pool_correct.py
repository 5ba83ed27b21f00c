# A correct thread pool: ThreadPoolExecutor's work queue is a SimpleQueue,
# whose own lock (a semaphore up to 3.12) the submitting thread releases
# for a waiting worker. That is the queue working, not a misuse.
from concurrent.futures import ThreadPoolExecutor


def square(x):
    return x * x


with ThreadPoolExecutor(4) as pool:
    print(sum(pool.map(square, range(200))))
