# expect: write_write results[
# Two threads store the same key: which value survives depends on timing.
import threading

results = {}


def work(n):
    for i in range(50):
        results["last"] = (n, i)


threads = [threading.Thread(target=work, args=(n,)) for n in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
