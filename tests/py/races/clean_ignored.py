# expect: none
# A known, accepted race, silenced with the documented annotation.
import threading

hits = {"n": 0}


def work():
    for _ in range(100):
        hits["n"] += 1  # weft: ignore-race (approximate statistics are fine here)


threads = [threading.Thread(target=work) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
