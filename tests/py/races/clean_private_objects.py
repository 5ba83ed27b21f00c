# expect: none
# Every thread makes and fills its own short-lived dicts and objects; their
# memory is reused across threads, which must not look like sharing.
import threading


class Point:
    def __init__(self, x):
        self.x = x


def work():
    for i in range(3000):
        d = {}
        d["k"] = i
        p = Point(i)
        p.x += 1
        lst = [0]
        lst[0] = d["k"] + p.x


threads = [threading.Thread(target=work) for _ in range(3)]
for t in threads:
    t.start()
for t in threads:
    t.join()
