# expect: none
# Built before the threads start, only read afterwards.
import threading


class Settings:
    def __init__(self):
        self.limit = 10
        self.names = {"a": 1, "b": 2}


settings = Settings()
table = {k: k * k for k in range(20)}


def reader():
    total = 0
    for k in range(20):
        total += table[k] + settings.limit + settings.names["a"]
    return total


threads = [threading.Thread(target=reader) for _ in range(3)]
for t in threads:
    t.start()
for t in threads:
    t.join()
