# expect: none
# Ownership handed over through a queue: the producer fills a dict, the consumer owns it after get().
import queue
import threading

q = queue.Queue()


def producer():
    for i in range(100):
        job = {}
        job["id"] = i
        job["data"] = [i] * 3
        q.put(job)
    q.put(None)


def consumer():
    while True:
        job = q.get()
        if job is None:
            break
        job["done"] = job["id"] + len(job["data"])


threads = [threading.Thread(target=producer), threading.Thread(target=consumer)]
for t in threads:
    t.start()
for t in threads:
    t.join()
