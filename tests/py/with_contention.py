# A Lock, and then an RLock entered twice, taken only by blocking `with`
# blocks, held across a sleep (the GIL let go) so the other threads find
# them taken: every contended acquire is a wait, never a failed try. On
# 3.14+ an RLock's outermost level is taken and let go inline by weft, its
# inner level by CPython: both must keep the RLock's owner and level right.
import threading
import time

lock = threading.Lock()
rlock = threading.RLock()
start = threading.Barrier(4)
count = 0
rcount = 0


def worker():
    global count, rcount
    start.wait()
    for _ in range(50):
        with lock:
            count += 1
            time.sleep(0.0002)
    start.wait()
    for _ in range(50):
        with rlock:
            with rlock:
                rcount += 1
                time.sleep(0.0002)
            assert rlock._is_owned()
    assert not rlock._is_owned()


threads = [threading.Thread(target=worker, name="w%d" % i) for i in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
taken = rlock.acquire(blocking=False)
rlock.release()
print(count, rcount, taken)
