# A multiprocessing.Queue's feeder thread waits on the queue's own Condition
# for puts: weft names it after the queue and records each put's notify on
# it, so that the feeder's wait has the put that ended it.
import multiprocessing
import time

if __name__ == "__main__":
    q = multiprocessing.Queue()
    for i in range(5):
        q.put(i)  # line 10
        time.sleep(0.02)
    print(sum(q.get() for _ in range(5)))
