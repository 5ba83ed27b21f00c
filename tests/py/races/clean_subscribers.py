# expect: none
# The registry copies the list under its lock and publishes outside it.
import threading


class Bus:
    def __init__(self):
        self.subscribers = []
        self.lock = threading.Lock()

    def subscribe(self, fn):
        with self.lock:
            self.subscribers.append(fn)

    def publish(self, msg):
        with self.lock:
            targets = self.subscribers.copy()
        for fn in targets:
            fn(msg)


bus = Bus()


def subscriber():
    for _ in range(20):
        bus.subscribe(lambda m: None)


def publisher():
    for i in range(20):
        bus.publish(i)


threads = [threading.Thread(target=subscriber), threading.Thread(target=publisher)]
for t in threads:
    t.start()
for t in threads:
    t.join()
