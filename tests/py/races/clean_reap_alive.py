# expect: none
# socketserver's way: a thread seen ended by is_alive() is reaped and its result read.
import threading
import time


class Handler:
    def __init__(self):
        self.result = None

    def run(self):
        self.result = 42


handlers = [Handler() for _ in range(4)]
threads = list(zip([threading.Thread(target=h.run) for h in handlers], handlers))
for t, _ in threads:
    t.start()
total = 0
while threads:
    still = []
    for t, h in threads:
        if t.is_alive():
            still.append((t, h))
        else:
            total += h.result
    threads = still
    time.sleep(0.001)
print(total)
