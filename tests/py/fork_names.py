# A forked child's one thread is the thread that called fork(), and Python
# keeps its name: MainThread, or a started thread's name longer than the
# kernel's 15 bytes (3.14+ gives the kernel that much of it).
import os
import threading


def fork_and_wait():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)


fork_and_wait()
t = threading.Thread(target=fork_and_wait, name="forker-with-a-long-name")
t.start()
t.join()
