"""Issue #17's OpenSSL burst: 8 threads each make ssl default contexts.

OpenSSL takes its own rwlocks millions of times while loading the CA
store, so a run of well under a second records millions of events, from
threads that the scheduler preempts all the time: the case where
records reach the writer late and the trace's tail used to take longest.
Usage: python3 ssl_burst.py [CONTEXTS_PER_THREAD]
"""
import sys
import threading

try:
    import ssl
except ImportError:
    print("ssl_burst: no ssl module", file=sys.stderr)
    sys.exit(77)

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1


def work():
    for _ in range(N):
        ssl.create_default_context()


threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
