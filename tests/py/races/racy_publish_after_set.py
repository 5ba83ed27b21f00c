# expect: read_write payload[
# The data is written after Event.set: the waiter's read is not ordered after it.
import threading

payload = {}
ready = threading.Event()


def producer():
    ready.set()
    payload["value"] = 42


def consumer():
    ready.wait()
    for _ in range(1000):
        if "value" in payload and payload["value"] == 42:
            break


threads = [threading.Thread(target=consumer), threading.Thread(target=producer)]
for t in threads:
    t.start()
for t in threads:
    t.join()
