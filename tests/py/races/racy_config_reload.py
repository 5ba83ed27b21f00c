# expect: read_write Config.settings
# A config reloaded by one thread while request threads read it, nothing ordering them.
import threading


class Config:
    def __init__(self):
        self.settings = {"timeout": 1}

    def reload(self, n):
        self.settings = {"timeout": n}

    def timeout(self):
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
