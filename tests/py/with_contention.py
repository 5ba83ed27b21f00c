# A Lock taken only by blocking `with` blocks, held across a sleep (the GIL
# let go) so the other threads find it taken: every contended acquire is a
# wait, never a failed try.
import threading
import time

lock = threading.Lock()
start = threading.Barrier(4)
count = 0


def worker():
    global count
    start.wait()
    for _ in range(50):
        with lock:
            count += 1
            time.sleep(0.0002)


threads = [threading.Thread(target=worker, name="w%d" % i) for i in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(count)
