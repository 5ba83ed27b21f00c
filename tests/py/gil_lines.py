# Two threads spinning in a loop that records nothing: the GIL switches
# between them, and every GIL event in the loop names its line (5 or 6).
import threading
def spin(n):
    while n > 0:
        n -= 1


threads = [threading.Thread(target=spin, args=(3_000_000,), name="spin%d" % i) for i in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("spun")
