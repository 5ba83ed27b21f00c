# expect: lost_update racy_settings.requests
# A module-level counter in another module of the program, bumped as mod.x += 1.
import threading

import racy_settings


def work():
    for _ in range(300):
        racy_settings.requests += 1


threads = [threading.Thread(target=work) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
