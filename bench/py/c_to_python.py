# What a C function calling a Python function costs on this interpreter,
# untraced: Queue.put and Queue.get called directly, and through
# functools.partial (C calling the Python function, as weft's queue
# wrappers do). Prints the best of 7 runs of argv[1] items (default 200k),
# a put and a get each. docs/DESIGN.md has the figures for 3.13-3.15.
import functools
import queue
import sys
import time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
q = queue.Queue()


def direct():
    put, get = q.put, q.get
    for i in range(N):
        put(i)
        get()


def through_c():
    put = functools.partial(queue.Queue.put, q)
    get = functools.partial(queue.Queue.get, q)
    for i in range(N):
        put(i)
        get()


def best(f):
    runs = []
    for _ in range(7):
        t = time.perf_counter()
        f()
        runs.append(time.perf_counter() - t)
    return min(runs) / N * 1e9


d, c = best(direct), best(through_c)
print("%s: direct %.1f ns an item, through C %.1f ns (+%.1f)" % (sys.version.split()[0], d, c, c - d))
