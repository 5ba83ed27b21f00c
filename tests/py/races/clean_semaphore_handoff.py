# expect: none
# A Semaphore released after the write, acquired before the read.
import threading

box = {}
filled = threading.Semaphore(0)


def fill():
    box["v"] = 1
    filled.release()


def take():
    filled.acquire()
    box["v"] += 1


threads = [threading.Thread(target=take), threading.Thread(target=fill)]
for t in threads:
    t.start()
for t in threads:
    t.join()
