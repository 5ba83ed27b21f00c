import threading, queue
N = 1500
lock = threading.Lock()
rlock = threading.RLock()
cond = threading.Condition()
ev = threading.Event()
sem = threading.Semaphore(2)
q = queue.Queue(maxsize=10)
counter = 0
def producer():
    for i in range(N):
        q.put(i)
    q.put(None)
def consumer():
    global counter
    while True:
        item = q.get()
        if item is None:
            break
        with lock:
            counter += 1
        with rlock:
            with rlock:
                pass
    with cond:
        cond.notify_all()
    ev.set()
def waiter():
    ev.wait()
    with sem:
        pass
ts = [threading.Thread(target=producer, name="producer"), threading.Thread(target=consumer, name="consumer"), threading.Thread(target=waiter, name="waiter")]
for t in ts: t.start()
for t in ts: t.join()
print("counter", counter)
