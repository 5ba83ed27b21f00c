# Three workers sleep in nap() and record nothing else: their GIL events
# are named once the main thread's lock events have defined the code.
# Before them, the main thread alone names its own doze() from an audit event.
import sys, threading, time


def nap():
    time.sleep(0.03)  # line 8: the GIL let go here


def worker():
    for _ in range(4):
        nap()


def doze():
    time.sleep(0.01)  # line 17: the main thread lets the GIL go here, alone


# Alone, the main thread records nothing but GIL events (after one lock,
# from which weft reads frames directly); an audit event, which records
# nothing either, defines the code its first release wanted, so the later
# ones name it.
with threading.Lock():
    pass
for _ in range(3):
    doze()
    sys.audit("gil_names.tick")

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
