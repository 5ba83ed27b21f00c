# expect: none
# threading.local: each thread has its own attributes.
import threading

local = threading.local()


def work(n):
    local.count = 0
    for _ in range(200):
        local.count += 1


threads = [threading.Thread(target=work, args=(n,)) for n in range(3)]
for t in threads:
    t.start()
for t in threads:
    t.join()
