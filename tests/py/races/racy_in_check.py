# expect: check_then_act seen[
# `if key not in d: d[key] = ...` is the same check-then-act.
import threading

seen = {}


def visit(url):
    if url not in seen:
        seen[url] = len(url)


def crawl(urls):
    for u in urls:
        visit(u)


urls = ["/a", "/b", "/c", "/d"]
threads = [threading.Thread(target=crawl, args=(urls,)) for _ in range(2)]
for t in threads:
    t.start()
for t in threads:
    t.join()
