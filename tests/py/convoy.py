import sys, threading, time
if len(sys.argv) > 1:
    sys.setswitchinterval(float(sys.argv[1]))
stop = False
def cpu():
    x = 0
    while not stop:
        x += 1
t = threading.Thread(target=cpu, name="cpu")
t.start()
time.sleep(0.05)
t0 = time.perf_counter()
for _ in range(40):
    time.sleep(0.0002)   # I/O that completes at once: releases the GIL, wants it back
print("io loop %.1f ms" % ((time.perf_counter() - t0) * 1e3))
stop = True
t.join()
