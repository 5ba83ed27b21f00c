# A thread pool where one job blocks for a while (off the GIL): the main
# thread waits for its result and the idle workers for the pool to shut
# down. weft report's longest waits all lead to that one job.
import concurrent.futures
import time


def job(i):
    if i == 3:
        time.sleep(0.3)  # line 10: the one slow job
    return i


with concurrent.futures.ThreadPoolExecutor(4) as ex:
    print(sum(ex.map(job, range(8))))
