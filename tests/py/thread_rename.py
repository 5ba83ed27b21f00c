# Threads renamed while they run: one renames itself with a name longer than
# the kernel's 15 bytes, the main thread renames itself, and one is renamed
# by another thread (which the trace does not follow: its record would name
# the thread that makes it).
import threading


def work():
    threading.current_thread().name = "renamed-itself-with-a-long-name"
    with threading.Lock():
        pass


t = threading.Thread(target=work)
t.start()
t.join()
u = threading.Thread(target=lambda: None, name="kept")
u.start()
u.name = "renamed-from-outside"
u.join()
threading.current_thread().name = "Main-renamed"
print(t.name, u.name, threading.current_thread().name)
