# expect: read_write self.subscribers
# A subscriber registry: publish iterates the list while subscribe appends to it.
import threading


class Bus:
    def __init__(self):
        self.subscribers = []

    def subscribe(self, fn):
        self.subscribers.append(fn)

    def publish(self, msg):
        for fn in self.subscribers:
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
