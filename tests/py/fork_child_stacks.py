# A function that takes a lock runs before os.fork() and again in the
# child: the child's events must name the function (its ring defines the
# code again), and the interpreter's own locks re-made in the child must
# not appear as locks of this line.
import os
import threading

lock = threading.Lock()


def work():
    with lock:
        pass


work()
pid = os.fork()
if pid == 0:
    work()
    os._exit(0)
os.waitpid(pid, 0)
