# Exceptions raised through the methods weft wraps (Thread.start and join,
# Semaphore, Barrier, ThreadPoolExecutor.submit, multiprocessing's Queue and
# Process.start, constructors): their tracebacks, printed, must read as
# untraced, with no frame of weft's. test_python compares the two outputs.
import concurrent.futures
import multiprocessing
import queue
import threading
import traceback


def show(what, fn):
    try:
        fn()
    except Exception:
        print("--", what)
        traceback.print_exc(file=__import__("sys").stdout)


def start_twice():
    t = threading.Thread(target=int)
    t.start()
    t.join()
    t.start()


def submit_after_shutdown():
    ex = concurrent.futures.ThreadPoolExecutor(1)
    ex.shutdown()
    ex.submit(int)


def broken_barrier():
    threading.Barrier(2, timeout=0.01).wait()


def process_twice():
    p = multiprocessing.Process(target=int)
    p.start()
    p.join()
    p.start()


def future_reraises():
    f = concurrent.futures.ThreadPoolExecutor(1).submit(lambda: 1 / 0)
    # Done before result(): otherwise which of result()'s two raising lines
    # the traceback shows depends on whether the task won the race.
    concurrent.futures.wait([f])
    f.result()


class NamedFuture(concurrent.futures.Future):
    def __repr__(self):
        return "<NamedFuture>"  # the message names it: no address that differs per run


def future_set_twice():
    f = NamedFuture()
    f.set_result(1)
    f.set_result(2)


if __name__ == "__main__":
    show("Semaphore.release(0)", lambda: threading.Semaphore(1).release(0))
    show("BoundedSemaphore over-release", lambda: threading.BoundedSemaphore(1).release())
    show("Semaphore.acquire timeout without blocking",
         lambda: threading.Semaphore(1).acquire(False, 1))
    show("Thread.start twice", start_twice)
    show("Thread.join before start", lambda: threading.Thread(target=int).join())
    show("Barrier(0)", lambda: threading.Barrier(0))
    show("Barrier broken", broken_barrier)
    show("Event.wait bad timeout", lambda: threading.Event().wait("x"))
    show("submit after shutdown", submit_after_shutdown)
    show("multiprocessing.Queue.get empty", lambda: multiprocessing.Queue().get(timeout=0.01))
    show("Process.start twice", process_twice)
    show("queue.Queue.get empty", lambda: queue.Queue().get(timeout=0.01))
    # A task's exception, re-raised by its Future (wrapped under --races)
    show("Future.result re-raises", future_reraises)
    show("Future.set_result twice", future_set_twice)
    # SimpleQueue's methods are C: weft's wrappers around them are too
    show("SimpleQueue.get empty", lambda: queue.SimpleQueue().get(timeout=0.01))
    show("SimpleQueue.get without blocking", lambda: queue.SimpleQueue().get(False))
    show("SimpleQueue.get_nowait", lambda: queue.SimpleQueue().get_nowait())
    show("SimpleQueue.put(1, 2, 3, 4)", lambda: queue.SimpleQueue().put(1, 2, 3, 4))
    # its constructor takes no arguments (3.10 checks them for its own class only)
    show("SimpleQueue(1)", lambda: queue.SimpleQueue(1))
    show("SimpleQueue(maxsize=1)", lambda: queue.SimpleQueue(maxsize=1))
    print("type(SimpleQueue())", type(queue.SimpleQueue()))
    # wrong calls: the original's message, not the name of weft's code around it
    show("Event.set(1)", lambda: threading.Event().set(1))
    show("Semaphore.release('x')", lambda: threading.Semaphore(1).release("x"))
    show("Barrier.wait(1, 2)", lambda: threading.Barrier(1).wait(1, 2))
    show("Thread.start(1)", lambda: threading.Thread(target=int).start(1))
    show("submit()", lambda: concurrent.futures.ThreadPoolExecutor(1).submit())
    show("Thread.join(1, 2)", lambda: threading.Thread(target=int).join(1, 2))
