# expect: none
# The config swapped and read under a lock.
import threading


class Config:
    def __init__(self):
        self.settings = {"timeout": 1}
        self.lock = threading.Lock()

    def reload(self, n):
        with self.lock:
            self.settings = {"timeout": n}

    def timeout(self):
        with self.lock:
            return self.settings["timeout"]


config = Config()


def reloader():
    for n in range(30):
        config.reload(n)


def server():
    for _ in range(30):
        config.timeout()


threads = [threading.Thread(target=reloader), threading.Thread(target=server)]
for t in threads:
    t.start()
for t in threads:
    t.join()
