# expect: check_then_act tokens[
# keys: 2
# A token cache refreshed by whoever finds the token missing.
import threading

tokens = {}


def fetch_token(service):
    return "token-for-" + service


def token(service):
    t = tokens.get(service)
    if t is None:
        t = fetch_token(service)
        tokens[service] = t
    return t


def worker():
    for i in range(40):
        token("db" if i % 2 else "api")
        if i % 10 == 0:
            tokens.pop("db", None)
            tokens.pop("api", None)


threads = [threading.Thread(target=worker) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
