# expect: read_write Handler.result
# Reaping threads by is_alive() reads the result of a thread that may still run.
import threading


class Handler:
    def __init__(self):
        self.result = None

    def run(self):
        self.result = 42


handlers = [Handler() for _ in range(4)]
threads = [threading.Thread(target=h.run) for h in handlers]
for t in threads:
    t.start()
for h in handlers:
    h.result
for t in threads:
    t.join()
