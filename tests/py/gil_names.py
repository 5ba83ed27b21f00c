# Three workers sleep in nap() and record nothing else: their GIL events
# are named once the main thread's lock events have defined the code.
import threading, time


def nap():
    time.sleep(0.03)  # line 7: the GIL let go here


def worker():
    for _ in range(4):
        nap()


lock = threading.Lock()
ts = [threading.Thread(target=worker, name="w%d" % i) for i in range(3)]
for t in ts:
    t.start()
# The main thread's lock events take stacks with the GIL: the codes the
# workers' GIL events wanted are defined then, for every thread.
for _ in range(30):
    with lock:
        pass
    time.sleep(0.01)
for t in ts:
    t.join()
