# A process tree from Python: multiprocessing with the start method given
# in argv[1] (one named worker), subprocess, os.fork and os.posix_spawn.
import multiprocessing as mp
import os
import subprocess
import sys


def work(q):
    q.put(os.getpid())


if __name__ == "__main__":
    method = sys.argv[1] if len(sys.argv) > 1 else "fork"
    ctx = mp.get_context(method)
    q = ctx.Queue()
    p = ctx.Process(target=work, args=(q,), name="weft-worker")
    p.start()
    child = q.get()
    p.join()
    print("mp child", child == p.pid, p.exitcode)
    r = subprocess.run([sys.executable, "-c", "import sys; sys.exit(4)"])
    print("subprocess", r.returncode)
    pid = os.fork()
    if pid == 0:
        os._exit(6)
    _, st = os.waitpid(pid, 0)
    print("fork", os.waitstatus_to_exitcode(st))
    pid = os.posix_spawn(sys.executable, [sys.executable, "-c", "pass"], os.environ)
    _, st = os.waitpid(pid, 0)
    print("posix_spawn", os.waitstatus_to_exitcode(st))
