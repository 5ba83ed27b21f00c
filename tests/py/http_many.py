# A ThreadingHTTPServer answering N requests (argv[1], default 200) that a
# client in the same program sends one after another: one request thread
# each, "Thread-K (process_request_thread)". Each handler takes a shared
# Lock; two logging handlers make two RLocks at the same logging line (each
# fails one non-blocking acquire); a
# ThreadPoolExecutor adds its workers and its own locks.
import concurrent.futures
import http.client
import http.server
import logging
import sys
import threading

N = int(sys.argv[1]) if len(sys.argv) > 1 else 200
hits = 0
hits_lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        global hits
        with hits_lock:
            hits += 1
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


log = logging.getLogger("http_many")
handlers = [logging.StreamHandler(sys.stderr), logging.StreamHandler(sys.stderr)]
for h in handlers:
    log.addHandler(h)
    # A non-blocking acquire that must fail (main holds the RLock): each
    # handler's lock, made at the same logging line, is in the lock list.
    h.acquire()
    other = threading.Thread(target=lambda: print("busy", h.lock.acquire(blocking=False)))
    other.start()
    other.join()
    h.release()

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
serving = threading.Thread(target=server.serve_forever, name="server")
serving.start()
for _ in range(N):
    conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1])
    conn.request("GET", "/")
    conn.getresponse().read()
    conn.close()
server.shutdown()
serving.join()
server.server_close()
with concurrent.futures.ThreadPoolExecutor(max_workers=6) as pool:
    total = sum(pool.map(lambda i: i * i, range(100)))
log.warning("served %d", hits)
print("hits", hits, "total", total)
