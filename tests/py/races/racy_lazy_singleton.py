# expect: check_then_act Registry._instance
# An unguarded lazy singleton: two threads can both find no instance and make two.
import threading


class Registry:
    _instance = None

    @classmethod
    def get(cls):
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance


def worker():
    for _ in range(50):
        Registry.get()


threads = [threading.Thread(target=worker) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
