# expect: none
# Publish, then Event.set; the reader waits for the Event before reading.
import threading

config = {}
ready = threading.Event()


def loader():
    config["url"] = "http://example"
    config["retries"] = 3
    ready.set()


def user():
    ready.wait()
    return config["url"], config["retries"]


threads = [threading.Thread(target=user), threading.Thread(target=loader)]
for t in threads:
    t.start()
for t in threads:
    t.join()
