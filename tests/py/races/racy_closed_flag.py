# expect: read_write Channel.closed
# send() checks a closed flag that close() sets from another thread, unordered.
import threading


class Channel:
    def __init__(self):
        self.closed = False
        self.sent = 0

    def send(self):
        if self.closed:
            return False
        return True

    def close(self):
        self.closed = True


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
