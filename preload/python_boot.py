# weft's Python bootstrap, run once per interpreter at the first
# "cpython.run_*" audit event, in a private namespace holding the _weft
# functions (now, ev, init, fold, thread, process) and EV_*/OBJ_* constants.
#
# Each wrapper brackets the original method with fold(1)/fold(-1) so the
# locks and conditions the method uses inside are not recorded separately:
# the method becomes one event (queue.put, cond.wait, ...). Embedded into
# libweft.so at build time (preload/python_boot.c is generated from it).
import sys

_threading = sys.modules.get("threading")
if _threading is None:
    import threading as _threading
import queue as _queue


def _site(depth=2):
    f = sys._getframe(depth)
    while f is not None and (f.f_code.co_filename.endswith(("/threading.py", "/queue.py"))
                             or "/multiprocessing/" in f.f_code.co_filename
                             or f.f_code.co_filename == "<weft>"):
        f = f.f_back
    if f is None:
        return "?"
    name = f.f_code.co_filename.rsplit("/", 1)[-1]
    return "%s:%d" % (name, f.f_lineno)


def _wrap_init(cls, objkind, fold_inside=True):
    orig = cls.__init__

    def __init__(self, *args, **kwargs):
        # A Condition's own lock is named at creation (see the preload's
        # sem_init hook); the internals of Event, Semaphore and Queue are not.
        if fold_inside:
            fold(1)
        try:
            orig(self, *args, **kwargs)
        finally:
            if fold_inside:
                fold(-1)
        init(objkind, id(self), "%s %s" % (type(self).__name__, _site()))

    __init__.__wrapped__ = orig
    cls.__init__ = __init__


def _condition(cls):
    _wrap_init(cls, OBJ_CONDITION, fold_inside=False)
    orig_wait, orig_notify, orig_notify_all = cls.wait, cls.notify, cls.notify_all

    def wait(self, timeout=None):
        t0 = now()
        # The condition's lock is let go and taken back inside wait().
        fold(1)
        try:
            r = orig_wait(self, timeout)
        finally:
            fold(-1)
        ev(EV_COND_WAIT, OBJ_CONDITION, id(self), t0, 0 if r else 110)
        return r

    def notify(self, n=1):
        ev(EV_COND_SIGNAL, OBJ_CONDITION, id(self), 0, n)
        fold(1)
        try:
            return orig_notify(self, n)
        finally:
            fold(-1)

    def notify_all(self):
        ev(EV_COND_BROADCAST, OBJ_CONDITION, id(self), 0, 0)
        fold(1)
        try:
            return orig_notify_all(self)
        finally:
            fold(-1)

    cls.wait, cls.notify, cls.notify_all = wait, notify, notify_all


def _event(cls):
    _wrap_init(cls, OBJ_EVENT)
    orig_set, orig_wait = cls.set, cls.wait

    def set(self):
        if getattr(self, "_weft_internal", False):
            fold(1)
            try:
                return orig_set(self)
            finally:
                fold(-1)
        ev(EV_EVENT_SET, OBJ_EVENT, id(self), 0, 0)
        fold(1)
        try:
            return orig_set(self)
        finally:
            fold(-1)

    def wait(self, timeout=None):
        if getattr(self, "_weft_internal", False):
            fold(1)
            try:
                return orig_wait(self, timeout)
            finally:
                fold(-1)
        t0 = now()
        fold(1)
        try:
            r = orig_wait(self, timeout)
        finally:
            fold(-1)
        ev(EV_EVENT_WAIT, OBJ_EVENT, id(self), t0, 1 if r else 0)
        return r

    cls.set, cls.wait = set, wait


def _semaphore(cls):
    _wrap_init(cls, OBJ_SEMAPHORE)
    orig_acquire, orig_release = cls.acquire, cls.release

    def acquire(self, blocking=True, timeout=None):
        t0 = now()
        fold(1)
        try:
            r = orig_acquire(self, blocking, timeout)
        finally:
            fold(-1)
        ev(EV_LOCK_ACQUIRE if r else EV_LOCK_FAIL, OBJ_SEMAPHORE, id(self), t0,
           0 if r else 110)
        return r

    def release(self, n=1):
        ev(EV_LOCK_RELEASE, OBJ_SEMAPHORE, id(self), 0, n)
        fold(1)
        try:
            return orig_release(self, n)
        finally:
            fold(-1)

    cls.acquire, cls.release = acquire, release
    cls.__enter__ = acquire
    cls.__exit__ = lambda self, t, v, tb: release(self)


def _queue_class(cls):
    _wrap_init(cls, OBJ_QUEUE)
    orig_put, orig_get = cls.put, cls.get

    def put(self, item, block=True, timeout=None):
        t0 = now()
        fold(1)
        try:
            orig_put(self, item, block, timeout)
        finally:
            fold(-1)
        ev(EV_QUEUE_PUT, OBJ_QUEUE, id(self), t0, self.qsize())

    def get(self, block=True, timeout=None):
        t0 = now()
        fold(1)
        try:
            item = orig_get(self, block, timeout)
        finally:
            fold(-1)
        ev(EV_QUEUE_GET, OBJ_QUEUE, id(self), t0, self.qsize())
        return item

    cls.put, cls.get = put, get


def _simple_queue():
    base = _queue.SimpleQueue

    class SimpleQueue(base):
        __slots__ = ()

        def __init__(self, *args, **kwargs):
            init(OBJ_QUEUE, id(self), "SimpleQueue %s" % _site(2))

        def put(self, item, block=True, timeout=None):
            t0 = now()
            base.put(self, item, block, timeout)
            ev(EV_QUEUE_PUT, OBJ_QUEUE, id(self), t0, base.qsize(self))

        def get(self, block=True, timeout=None):
            t0 = now()
            item = base.get(self, block, timeout)
            ev(EV_QUEUE_GET, OBJ_QUEUE, id(self), t0, base.qsize(self))
            return item

        def put_nowait(self, item):
            self.put(item, False)

        def get_nowait(self):
            return self.get(False)

    SimpleQueue.__module__ = "queue"
    SimpleQueue.__qualname__ = "SimpleQueue"
    _queue.SimpleQueue = SimpleQueue


def _folded(cls, name):
    orig = getattr(cls, name)

    def method(self, *args, **kwargs):
        fold(1)
        try:
            return orig(self, *args, **kwargs)
        finally:
            fold(-1)

    setattr(cls, name, method)


def _threads(threading):
    orig = threading.Thread._bootstrap_inner

    def _bootstrap_inner(self):
        thread(self.name, _get_ident())
        return orig(self)

    threading.Thread._bootstrap_inner = _bootstrap_inner
    _get_ident = threading.get_ident
    orig_init = threading.Thread.__init__

    def __init__(self, *args, **kwargs):
        fold(1)
        try:
            orig_init(self, *args, **kwargs)
        finally:
            fold(-1)
        started = getattr(self, "_started", None)
        if started is not None:
            started._weft_internal = True

    threading.Thread.__init__ = __init__
    # The start/stop handshakes (an Event, the thread state lock) are threading's own.
    _folded(threading.Thread, "start")
    orig_join = threading.Thread.join

    def join(self, timeout=None):
        t0 = now()
        fold(1)
        try:
            orig_join(self, timeout)
        finally:
            fold(-1)
        if not self.is_alive():
            ev(EV_THREAD_JOIN, 0, 0, t0, getattr(self, "native_id", None) or 0)

    threading.Thread.join = join
    main = threading.main_thread()
    thread(main.name, main.ident or 0)


def _multiprocessing(mod):
    if mod.__name__ == "multiprocessing.process":
        orig = mod.BaseProcess._bootstrap

        def _bootstrap(self, *args, **kwargs):
            process(self.name)
            return orig(self, *args, **kwargs)

        mod.BaseProcess._bootstrap = _bootstrap
    elif mod.__name__ == "multiprocessing.queues":
        q = mod.Queue
        _wrap_init(q, OBJ_QUEUE)
        orig_put, orig_get = q.put, q.get

        def put(self, obj, block=True, timeout=None):
            t0 = now()
            fold(1)
            try:
                orig_put(self, obj, block, timeout)
            finally:
                fold(-1)
            ev(EV_QUEUE_PUT, OBJ_QUEUE, id(self), t0, 0)

        def get(self, block=True, timeout=None):
            t0 = now()
            fold(1)
            try:
                r = orig_get(self, block, timeout)
            finally:
                fold(-1)
            ev(EV_QUEUE_GET, OBJ_QUEUE, id(self), t0, 0)
            return r

        q.put, q.get = put, get


class _PatchAfterImport:
    """Patches multiprocessing modules right after they are first imported."""

    names = ("multiprocessing.process", "multiprocessing.queues")

    def find_spec(self, name, path=None, target=None):
        if name not in self.names:
            return None
        import importlib.util
        self.names = tuple(n for n in self.names if n != name)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        orig_exec = loader.exec_module

        def exec_module(module):
            orig_exec(module)
            _multiprocessing(module)

        loader.exec_module = exec_module
        return spec


_condition(_threading.Condition)
_event(_threading.Event)
_semaphore(_threading.Semaphore)
if "release" in _threading.BoundedSemaphore.__dict__:
    # BoundedSemaphore overrides release() only; acquire and __init__ come from Semaphore.
    _orig_bounded_release = _threading.BoundedSemaphore.release

    def _bounded_release(self, n=1):
        ev(EV_LOCK_RELEASE, OBJ_SEMAPHORE, id(self), 0, n)
        fold(1)
        try:
            return _orig_bounded_release(self, n)
        finally:
            fold(-1)

    _threading.BoundedSemaphore.release = _bounded_release
    _threading.BoundedSemaphore.__exit__ = lambda self, t, v, tb: _bounded_release(self)
_queue_class(_queue.Queue)  # LifoQueue and PriorityQueue inherit put/get
_simple_queue()
_threads(_threading)
for _name in _PatchAfterImport.names:
    if _name in sys.modules:
        _multiprocessing(sys.modules[_name])
sys.meta_path.insert(0, _PatchAfterImport())
