# expect: lost_update __main__.counter
# counter += 1 on a module global from two threads: increments get lost.
import threading

counter = 0


def work():
    global counter
    for _ in range(1000):
        counter += 1


threads = [threading.Thread(target=work) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(counter)
