# expect: check_then_act cache[
# The seed's cache race: two threads can both miss the key and both create the item.
import threading

cache = {}


def create_new_item(key):
    return [key]


def getitem(key):
    item = cache.get(key)
    if item is None:
        item = create_new_item(key)
        cache[key] = item
    return item


def worker():
    for i in range(100):
        getitem(i % 10)


threads = [threading.Thread(target=worker, name="worker-%d" % i) for i in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
