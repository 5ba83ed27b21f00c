# Workers killed right after start(), before they run any Python: each is
# still named, by the parent that started it.
import multiprocessing as mp
import time


def nap():
    time.sleep(30)


if __name__ == "__main__":
    for method in ("fork", "spawn", "forkserver"):
        ctx = mp.get_context(method)
        p = ctx.Process(target=nap, name="Doomed-" + method)
        p.start()
        p.kill()
        p.join()
        print(method, p.exitcode)
