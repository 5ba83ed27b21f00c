# Two threads each hold one Lock and try the other's with a timeout, then
# give up: no deadlock (they recover), though both wait past the finder's
# quiet time. Then a blocked acquire interrupted by a signal handler's
# exception.
import signal
import threading
import time

a = threading.Lock()
b = threading.Lock()


def one():
    with a:
        time.sleep(0.1)
        if b.acquire(timeout=3):
            b.release()


def two():
    with b:
        time.sleep(0.1)
        if a.acquire(timeout=3):
            a.release()


ts = [threading.Thread(target=one, name="one"), threading.Thread(target=two, name="two")]
for t in ts:
    t.start()
for t in ts:
    t.join()
print("recovered")


def interrupt(signum, frame):
    raise KeyboardInterrupt


signal.signal(signal.SIGALRM, interrupt)
held = threading.Lock()
held.acquire()
signal.setitimer(signal.ITIMER_REAL, 0.05)
try:
    held.acquire()
except KeyboardInterrupt:
    print("interrupted")
