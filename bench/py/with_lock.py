# 1M "with lock:" blocks split over 2 threads.
import threading

lock = threading.Lock()
counter = 0


def work(n):
    global counter
    for _ in range(n):
        with lock:
            counter += 1


threads = [threading.Thread(target=work, args=(500_000,)) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
assert counter == 1_000_000
