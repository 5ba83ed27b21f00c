# 200k items (or argv[1]) through queue.Queue, one producer and one consumer.
import queue
import sys
import threading

N = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
q = queue.Queue(maxsize=1000)


def producer():
    for i in range(N):
        q.put(i)
    q.put(None)


def consumer():
    n = 0
    while q.get() is not None:
        n += 1
    assert n == N


threads = [threading.Thread(target=producer), threading.Thread(target=consumer)]
for t in threads:
    t.start()
for t in threads:
    t.join()
