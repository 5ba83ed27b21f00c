# Event waits in weft report's longest waits: one ended by a set another
# thread made after a sleep, one ended by its timeout (nobody sets it).
import threading
import time

ready = threading.Event()
never = threading.Event()


def setter():
    time.sleep(0.2)  # line 11
    ready.set()  # line 12


w = threading.Thread(target=ready.wait, name="waiter")
n = threading.Thread(target=never.wait, args=(0.35,), name="napper")
s = threading.Thread(target=setter, name="setter")
for t in (w, n, s):
    t.start()
for t in (w, n, s):
    t.join()
