# A real deadlock in Python: two threads take two Locks in opposite orders.
import threading
import time

a = threading.Lock()
b = threading.Lock()


def one():
    with a:
        time.sleep(0.1)
        with b:
            pass


def two():
    with b:
        time.sleep(0.1)
        with a:
            pass


ts = [threading.Thread(target=one, name="one"), threading.Thread(target=two, name="two")]
for t in ts:
    t.start()
for t in ts:
    t.join()
