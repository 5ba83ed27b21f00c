# expect: none
# The closed flag is an Event: set() and is_set()/wait() order the threads.
import threading


class Channel:
    def __init__(self):
        self.closed = threading.Event()
        self.lock = threading.Lock()
        self.sent = 0

    def send(self):
        with self.lock:
            if self.closed.is_set():
                return False
            self.sent += 1
            return True

    def close(self):
        with self.lock:
            self.closed.set()


ch = Channel()


def sender():
    for _ in range(50):
        ch.send()


def closer():
    ch.close()


threads = [threading.Thread(target=sender), threading.Thread(target=closer)]
for t in threads:
    t.start()
for t in threads:
    t.join()
