# expect: none
# join(timeout) that found the thread ended, and a Future polled with done(),
# order the reader after the thread's end and the task.
import threading
import time
from concurrent.futures import ThreadPoolExecutor


class Box:
    def __init__(self):
        self.value = None


box = Box()


def fill():
    box.value = 1


t = threading.Thread(target=fill)
t.start()
while True:
    t.join(timeout=0.01)
    if not t.is_alive():
        break
print(box.value)

other = Box()


def task():
    other.value = 2


with ThreadPoolExecutor(max_workers=2) as pool:
    f = pool.submit(task)
    while not f.done():
        time.sleep(0.001)
    print(other.value)
