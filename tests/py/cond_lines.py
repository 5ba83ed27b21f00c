# A Condition's lock taken through threading.py's frames, so that weft
# names each event by the program's frame under them, which it remembers
# one or two frames deep: the same `with` statement alternates between the
# Condition itself and a program class whose __enter__/__exit__ take it,
# where the answer is that class's line, not the `with`'s.
import sys
import threading

c = threading.Condition(threading.Lock())
n = int(sys.argv[1]) if len(sys.argv) > 1 else 300


class Guard:
    def __enter__(self):
        return c.__enter__()

    def __exit__(self, *exc):
        return c.__exit__(*exc)


g = Guard()


def loop():
    for i in range(n):
        x = c if i % 2 == 0 else g
        with x:
            c.notify()


loop()
