# Run as "python -m modmain": a lock and a named thread.
import threading

lock = threading.Lock()


def body():
    for _ in range(10):
        with lock:
            pass


t = threading.Thread(target=body, name="modworker")
t.start()
t.join()
print("done")
