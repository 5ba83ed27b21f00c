# weft's Python bootstrap, run once per interpreter at the first
# "cpython.run_*" audit event, in a private namespace holding the _weft
# functions (now, ev, init, fold, wrap_method, thread, know, process, sem_inits,
# hook_locks, hook_rlocks) and EV_*/OBJ_*/WAIT_FOR_THREAD constants.
#
# Each wrapper brackets the original method with fold(1)/fold(-1) so the
# locks and conditions the method uses inside are not recorded separately:
# the method becomes one event (queue.put, cond.wait, ...). Wrappers are C
# objects (wrap_method; _around for weft's Python before and after a
# method): an exception the original raises reaches the program's traceback
# with no frame of this file in it, as untraced. Embedded into
# libweft.so at build time (preload/python_boot.c is generated from it).
#
# threading, queue and multiprocessing are patched when the program imports
# them (_PatchAfterImport), never imported here: a program must find the
# same sys.modules under weft as without (CPython's test_threading checks
# that threading is not imported at start-up).
import sys
import _thread

# The race detector (weft run --races): RACES is its scope ("" = the
# program's own directory) or None when it is off. _HB is the
# happens-before hook the wrappers below call around synchronizations.
_HB = None


def _races_setup(config):
    """Installs the import-time instrumentation; returns False when it cannot run."""
    global _HB

    class _Probe:
        pass

    # The race detector needs threading's types (and rewrites the program's
    # modules anyway): threading is imported here, and patched as imported.
    import threading as _threading
    if not _weft_races_init(_Probe, _threading.local, _threading._deque, set, AttributeError):
        sys.stderr.write("weft: warning: the race detector cannot run in this interpreter;"
                         " --races is off\n")
        return False
    _HB = _weft_hb
    # threading.py and this bootstrap act for their caller: a Condition's or a
    # Barrier's locks are the program's when the program called them.
    _races.register([_threading] + list(globals().values()), 2)
    _races.scope = [p for p in config.split(":") if p]
    sys.meta_path.insert(0, _RaceFinder())
    main = sys.modules.get("__main__")
    if main is not None:
        _races.inject(main.__dict__)  # python -m: runpy runs the module in __main__'s namespace
    return True


class _races:
    """Where instrumentation applies, and how modules get the detector's functions."""

    scope = []
    names = ("_weft_gi", "_weft_si", "_weft_di", "_weft_ai", "_weft_ga", "_weft_sa",
             "_weft_da", "_weft_aa", "_weft_mc", "_weft_in", "_weft_gg", "_weft_gw",
             "_weft_ln", "_weft_it", "_weft_ha")
    funcs = 0
    instrument = None

    @staticmethod
    def register(objs, kind):
        """Tells the detector whose code these functions (and classes, modules) are."""
        import types
        stack, seen = list(objs), set()
        while stack:
            o = stack.pop()
            if id(o) in seen or o is None:
                continue
            seen.add(id(o))
            if isinstance(o, types.CodeType):
                _weft_uc(o, kind)
                stack.extend(c for c in o.co_consts if isinstance(c, types.CodeType))
            elif isinstance(o, (types.FunctionType, types.MethodType)):
                stack.append(getattr(o, "__code__", None) or getattr(o, "__func__", None))
            elif isinstance(o, (staticmethod, classmethod)):
                stack.append(o.__func__)
            elif isinstance(o, property):
                stack.extend((o.fget, o.fset, o.fdel))
            elif isinstance(o, type) and o.__module__ in ("threading", __name__):
                stack.extend(vars(o).values())
            elif isinstance(o, types.ModuleType) and o.__name__ == "threading":
                stack.extend(vars(o).values())

    @staticmethod
    def inject(d):
        g = globals()
        for n in _races.names:
            d[n] = g[n]

    @staticmethod
    def default_scope(directory):
        import os
        if not _races.scope:
            _races.scope = [directory]
        _races.scope = [os.path.realpath(p) for p in _races.scope]

    @staticmethod
    def in_scope(path):
        import os
        if not _races.scope:
            _races.default_scope(os.getcwd())
        real = os.path.realpath(path)
        for d in _races.scope:
            if real == d or real.startswith(d.rstrip("/") + "/"):
                rest = real[len(d):]
                # A virtualenv under the project is still somebody else's code.
                return "/site-packages/" not in rest and "/dist-packages/" not in rest
        return False


class _RaceFinder:
    """Hands modules in scope to _RaceLoader, which instruments them."""

    def __init__(self):
        import importlib.machinery as m
        import ast  # imported now: the finder must not import while finding
        import os
        self.machinery = m
        self.loader = _race_loader(m)
        self.busy = False

    def find_spec(self, name, path=None, target=None):
        if self.busy:
            return None
        m = self.machinery
        self.busy = True
        try:
            spec = m.PathFinder.find_spec(name, path, target)
            if (spec is None or not isinstance(spec.loader, m.SourceFileLoader)
                    or not spec.origin or not _races.in_scope(spec.origin)):
                return None
            spec.loader = self.loader(name, spec.origin)
            return spec
        except Exception:
            return None
        finally:
            self.busy = False


def _race_loader(m):
    class _RaceLoader(m.SourceFileLoader):
        # Never from or into __pycache__: instrumented code must not outlive the run.
        def get_code(self, fullname):
            path = self.get_filename(fullname)
            return _instrument(self.get_data(path), path)

        def exec_module(self, module):
            _races.inject(module.__dict__)
            super().exec_module(module)

    return _RaceLoader


def _races_main(event, arg):
    """The code to run as __main__ instead of the interpreter's (None: run it as usual)."""
    import os
    try:
        main = sys.modules["__main__"].__dict__
        if event == "cpython.run_file":
            path = os.fsdecode(arg)
            if not os.path.isfile(path) or not path.endswith(".py") and _is_archive(path):
                return None
            _races.default_scope(os.path.dirname(os.path.abspath(path)))
            with open(path, "rb") as f:
                source = f.read()
            code = _instrument(source, path)
            main.setdefault("__file__", path)
            main.setdefault("__cached__", None)
        else:
            _races.default_scope(os.getcwd())
            code = _instrument(arg, "<string>")
        _races.inject(main)
        return code
    except BaseException:
        import os
        if os.environ.get("WEFT_DEBUG"):
            import traceback
            traceback.print_exc()
        return None


def _is_archive(path):
    with open(path, "rb") as f:
        return f.read(4) == b"PK\x03\x04"


def _instrument(source, path):
    import ast
    tree = ast.parse(source, path)
    if isinstance(source, bytes):
        source = source.decode("utf-8", "replace")
    ignored = {i + 1 for i, line in enumerate(source.splitlines())
               if "weft: ignore-race" in line}
    if _races.instrument is None:
        _races.instrument = _instrumenter()
    tree = _races.instrument(tree, ignored, source).visit(tree)
    ast.fix_missing_locations(tree)
    code = compile(tree, path, "exec", dont_inherit=True)
    _races.register([code], 1)
    return code


def _instrumenter():
    import ast

    ops = {ast.Add: 0, ast.Sub: 1, ast.Mult: 2, ast.MatMult: 3, ast.Div: 4, ast.FloorDiv: 5,
           ast.Mod: 6, ast.Pow: 7, ast.LShift: 8, ast.RShift: 9, ast.BitAnd: 10,
           ast.BitXor: 11, ast.BitOr: 12}
    ITEM, ATTR, GLOBAL = 1, 2, 3
    ATOMIC, RMW = 4, 8
    dict_methods = {"get": 0, "setdefault": ATOMIC, "pop": ATOMIC}
    # Methods of list, dict, set and deque that touch the container as a whole
    # (preload/races.c decides by the object's type at run time).
    container_methods = {"append", "appendleft", "pop", "popleft", "popitem", "remove",
                         "insert", "extend", "extendleft", "clear", "update", "add",
                         "discard", "sort", "reverse", "rotate", "copy", "count", "index"}

    def call(name, args, like):
        return ast.copy_location(
            ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=args, keywords=[]), like)

    def const(v):
        return ast.Constant(value=v)

    def local_names(fn):
        """Names a function binds (its locals), minus its global/nonlocal declarations."""
        names, declared = set(), set()
        a = fn.args
        for arg in a.posonlyargs + a.args + a.kwonlyargs + [a.vararg, a.kwarg]:
            if arg is not None:
                names.add(arg.arg)
        body = fn.body if isinstance(fn.body, list) else [fn.body]
        stack = list(body)
        while stack:
            n = stack.pop()
            if isinstance(n, (ast.Global, ast.Nonlocal)):
                declared.update(n.names)
            elif isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
                names.add(n.id)
            elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(n.name)
                continue  # its body is its own scope
            elif isinstance(n, ast.Lambda):
                continue
            elif isinstance(n, ast.alias):
                names.add((n.asname or n.name).split(".")[0])
            elif isinstance(n, ast.ExceptHandler) and n.name:
                names.add(n.name)
            stack.extend(ast.iter_child_nodes(n))
        return names - declared, declared

    class Instrument(ast.NodeTransformer):
        def __init__(self, tree, ignored, source):
            self.ignored = ignored
            self.lines = source.encode("utf-8", "replace").splitlines(keepends=True)
            # Builtins (len, getattr...) are only theirs when the module never rebinds the name.
            self.bound = {n.id for n in ast.walk(tree)
                          if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
            self.bound |= {n.name for n in ast.walk(tree)
                           if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef,
                                             ast.ClassDef))}
            self.bound |= {(a.asname or a.name).split(".")[0] for n in ast.walk(tree)
                           if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
            # Module globals some function assigns (declares `global`): shared mutable state.
            self.shared = {name for n in ast.walk(tree) if isinstance(n, ast.Global)
                           for name in n.names}
            self.imported = {(a.asname or a.name).split(".")[0] for n in ast.walk(tree)
                             if isinstance(n, (ast.Import, ast.ImportFrom)) for a in n.names}
            _races.funcs += 1
            self.scopes = [(_races.funcs, None, set())]  # (func id, locals, declared global)

        def site(self, what, acc, text=None):
            return const(_weft_site(what, acc, self.scopes[-1][0], text))

        def skip(self, node):
            return getattr(node, "lineno", None) in self.ignored

        def is_global(self, name):
            if name not in self.shared:
                return False
            for _, local, declared in reversed(self.scopes):
                if local is None or name in declared:
                    return True
                if name in local:
                    return False
            return True

        def text(self, node):
            """The expression as the user wrote it (never as instrumented)."""
            t = None
            try:
                if node.lineno == node.end_lineno:
                    t = self.lines[node.lineno - 1][node.col_offset:node.end_col_offset]
                    t = t.decode("utf-8", "replace")
            except (AttributeError, IndexError, TypeError):
                pass
            if not t:
                t = ast.unparse(node)
            return t if len(t) <= 60 else t[:57] + "..."

        def builtin(self, node, name, nargs):
            """A call of the builtin name with nargs positional arguments, the second a str."""
            return (isinstance(node.func, ast.Name) and node.func.id == name
                    and name not in self.bound and not node.keywords
                    and len(node.args) in nargs
                    and not any(isinstance(a, ast.Starred) for a in node.args)
                    and (len(node.args) < 2 or isinstance(node.args[1], ast.Constant)
                         and isinstance(node.args[1].value, str)))

        def rmw(self, target, value):
            """x = x + 1, d[k] = d.get(k, 0) + 1: the target is read in its own value."""
            t = ast.unparse(target)
            for n in ast.walk(value):
                if type(n) is type(target) and ast.unparse(n) == t:
                    return True
                if (isinstance(target, ast.Subscript) and isinstance(n, ast.Call)
                        and isinstance(n.func, ast.Attribute) and n.func.attr == "get"
                        and n.args and ast.unparse(n.func.value) == ast.unparse(target.value)
                        and ast.unparse(n.args[0]) == ast.unparse(target.slice)):
                    return True
            return False

        def function(self, node):
            if self.skip(node) or any(self.skip(d) for d in getattr(node, "decorator_list", ())):
                return node
            _races.funcs += 1
            local, declared = local_names(node)
            self.scopes.append((_races.funcs, local, declared))
            try:
                return self.generic_visit(node)
            finally:
                self.scopes.pop()

        visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = function

        def visit_ClassDef(self, node):
            # A class body's names are its own; its methods are functions again.
            self.scopes.append((self.scopes[-1][0], set(), set()))
            try:
                return self.generic_visit(node)
            finally:
                self.scopes.pop()

        def visit_Subscript(self, node):
            text = self.text(node.value)
            self.generic_visit(node)
            if (not isinstance(node.ctx, ast.Load) or isinstance(node.slice, ast.Slice)
                    or self.skip(node)):
                return node
            return call("_weft_gi", [node.value, node.slice, self.site(ITEM, 0, text)], node)

        def visit_Attribute(self, node):
            self.generic_visit(node)
            if (not isinstance(node.ctx, ast.Load) or self.skip(node)
                    or isinstance(node.value, ast.Name) and node.value.id in self.imported):
                return node
            return call("_weft_ga", [node.value, const(node.attr), self.site(ATTR, 0)], node)

        def visit_Name(self, node):
            if not isinstance(node.ctx, ast.Load) or self.skip(node) or not self.is_global(node.id):
                return node
            return call("_weft_gg", [node, const(node.id), self.site(GLOBAL, 0)], node)

        def visit_Call(self, node):
            f = node.func
            if (isinstance(f, ast.Attribute) and not node.keywords and not self.skip(node)
                    and (f.attr in dict_methods and 1 <= len(node.args) <= 5
                         or f.attr in container_methods and len(node.args) <= 5)
                    and not any(isinstance(a, ast.Starred) for a in node.args)):
                site = self.site(ITEM, dict_methods.get(f.attr, 0), self.text(f.value))
                obj = self.visit(f.value)
                args = [self.visit(a) for a in node.args]
                return call("_weft_mc", [obj, const(f.attr), site] + args, node)
            if self.skip(node):
                return self.generic_visit(node)
            if self.builtin(node, "len", (1,)):
                site = self.site(ITEM, 0, self.text(node.args[0]))
                return call("_weft_ln", [self.visit(node.args[0]), site], node)
            # getattr/setattr/delattr/hasattr with a constant name: the attribute access.
            if self.builtin(node, "getattr", (2, 3)):
                a = [self.visit(x) for x in node.args]
                return call("_weft_ga", a[:2] + [self.site(ATTR, 0)] + a[2:], node)
            if self.builtin(node, "hasattr", (2,)):
                a = [self.visit(x) for x in node.args]
                return call("_weft_ha", a + [self.site(ATTR, 0)], node)
            if self.builtin(node, "delattr", (2,)):
                a = [self.visit(x) for x in node.args]
                return call("_weft_da", a + [self.site(ATTR, 0)], node)
            # setattr evaluates its object before the value, the instrumented call the other
            # way round: only for a plain name or attribute is that unnoticeable.
            if (self.builtin(node, "setattr", (3,))
                    and isinstance(node.args[0], (ast.Name, ast.Attribute))):
                o, name, v = node.args
                target = ast.Attribute(value=o, attr=name.value, ctx=ast.Load())
                acc = RMW if self.rmw(target, v) or self.getattr_of(o, name.value, v) else 0
                return call("_weft_sa", [self.visit(v), self.visit(o), name,
                                         self.site(ATTR, acc)], node)
            if isinstance(f, ast.Attribute):
                # A method call: the object is read, the bound method is not a location.
                f.value = self.visit(f.value)
                node.args = [self.visit(a) for a in node.args]
                node.keywords = [self.visit(k) for k in node.keywords]
                return node
            return self.generic_visit(node)

        def getattr_of(self, obj, name, value):
            """setattr(o, 'n', getattr(o, 'n') + 1): the value reads the attribute set."""
            o = ast.unparse(obj)
            return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                       and n.func.id == "getattr" and len(n.args) >= 2
                       and ast.unparse(n.args[0]) == o and isinstance(n.args[1], ast.Constant)
                       and n.args[1].value == name for n in ast.walk(value))

        def iterated(self, node):
            """A for loop or comprehension reads its iterable (a container) as a whole."""
            it = node.iter
            plain = self.skip(it) or isinstance(it, (ast.Constant, ast.List, ast.Tuple, ast.Call,
                                                     ast.ListComp, ast.GeneratorExp))
            site = None if plain else self.site(ITEM, 0, self.text(it))
            node = self.generic_visit(node)
            if site is not None:
                node.iter = call("_weft_it", [node.iter, site], it)
            return node

        visit_For = visit_comprehension = iterated

        def visit_Compare(self, node):
            text = self.text(node.comparators[0])
            self.generic_visit(node)
            if (len(node.ops) != 1 or not isinstance(node.ops[0], (ast.In, ast.NotIn))
                    or self.skip(node)):
                return node
            c = call("_weft_in", [node.left, node.comparators[0], self.site(ITEM, 0, text)],
                     node)
            if isinstance(node.ops[0], ast.NotIn):
                return ast.copy_location(ast.UnaryOp(op=ast.Not(), operand=c), node)
            return c

        def visit_Assign(self, node):
            if self.skip(node) or len(node.targets) != 1:
                return self.generic_visit(node)
            t = node.targets[0]
            acc = RMW if self.rmw(t, node.value) else 0
            if isinstance(t, ast.Subscript) and not isinstance(t.slice, ast.Slice):
                site = self.site(ITEM, acc, self.text(t.value))
                return ast.copy_location(ast.Expr(call("_weft_si", [
                    self.visit(node.value), self.visit(t.value), self.visit(t.slice), site],
                    node)), node)
            if isinstance(t, ast.Attribute):
                site = self.site(ATTR, acc)
                return ast.copy_location(ast.Expr(call("_weft_sa", [
                    self.visit(node.value), self.visit(t.value), const(t.attr), site], node)),
                    node)
            if isinstance(t, ast.Name) and self.is_global(t.id):
                node.value = self.visit(node.value)
                after = call("_weft_gw", [const(t.id), self.site(GLOBAL, acc), const(0)], node)
                return [node, ast.copy_location(ast.Expr(after), node)]
            return self.generic_visit(node)

        def visit_AugAssign(self, node):
            if self.skip(node) or type(node.op) not in ops:
                return self.generic_visit(node)
            t, op = node.target, const(ops[type(node.op)])
            if isinstance(t, ast.Subscript) and not isinstance(t.slice, ast.Slice):
                site = self.site(ITEM, 0, self.text(t.value))
                return ast.copy_location(ast.Expr(call("_weft_ai", [
                    self.visit(t.value), self.visit(t.slice), self.visit(node.value), op, site],
                    node)), node)
            if isinstance(t, ast.Attribute):
                return ast.copy_location(ast.Expr(call("_weft_aa", [
                    self.visit(t.value), const(t.attr), self.visit(node.value), op,
                    self.site(ATTR, 0)], node)), node)
            if isinstance(t, ast.Name) and self.is_global(t.id):
                node.value = self.visit(node.value)
                before = call("_weft_gw", [const(t.id), self.site(GLOBAL, 0), const(1)], node)
                return [ast.copy_location(ast.Expr(before), node), node]
            return self.generic_visit(node)

        def visit_Delete(self, node):
            if self.skip(node):
                return node
            out = []
            for t in node.targets:
                if isinstance(t, ast.Subscript) and not isinstance(t.slice, ast.Slice):
                    c = call("_weft_di", [self.visit(t.value), self.visit(t.slice),
                                          self.site(ITEM, 0, self.text(t.value))], node)
                elif isinstance(t, ast.Attribute):
                    c = call("_weft_da", [self.visit(t.value), const(t.attr),
                                          self.site(ATTR, 0)], node)
                else:
                    out.append(ast.copy_location(ast.Delete(targets=[self.visit(t)]), node))
                    continue
                out.append(ast.copy_location(ast.Expr(c), node))
            return out

    return Instrument


def _site(depth=2):
    f = sys._getframe(depth)
    while f is not None and (f.f_code.co_filename.endswith(("/threading.py", "/queue.py"))
                             or "/multiprocessing/" in f.f_code.co_filename
                             or f.f_code.co_filename == "<weft>"):
        f = f.f_back
    if f is None:
        return "?"
    return "%s:%d" % (_module_path(f), f.f_lineno)


def _module_path(f):
    # Relative to the package root, as the module's name spells it
    # (logging/__init__.py, concurrent/futures/thread.py): a bare basename
    # is ambiguous. A script, or a file whose directories do not match its
    # module name, keeps its basename.
    parts = f.f_code.co_filename.split("/")
    mod = f.f_globals.get("__name__")
    if not isinstance(mod, str) or mod == "__main__":
        return parts[-1]
    names = mod.split(".")
    init = parts[-1] == "__init__.py"
    keep = len(names) + init
    if len(parts) < keep or parts[-keep:-1] != (names if init else names[:-1]):
        return parts[-1]
    return "/".join(parts[-keep:])


# The code of each method that blocks on a named object -> that object's
# kind. A thread still blocked in one when the program exits (a daemon
# worker in Queue.get) never records the method's event: _waits_at_exit
# finds it by its frames instead.
_exit_waits = {}


# Object kind -> {native thread id: the object}: the threads in a wait
# wrapped in C around a C method (_around's waits_on) just now.
_c_waits = {}


def _blocks_on(objkind, *fns):
    for fn in fns:
        code = getattr(fn, "__code__", None)
        if code is not None:
            _exit_waits[code] = objkind


def _waits_at_exit(threading):
    """At exit, after the non-daemon threads ended: each thread still blocked
    in a named wait says so (a lock.wait on its behalf), so that it shows
    blocked on that object to its end, not off the GIL."""
    orig = getattr(threading, "_shutdown", None)
    if orig is None or not (_exit_waits or _c_waits):
        return

    def _shutdown():
        r = orig()
        try:
            _record_exit_waits(threading)
        except Exception:
            pass  # what weft cannot tell must not become the program's error at exit
        return r

    _shutdown.__wrapped__ = orig
    _shutdown.__name__, _shutdown.__qualname__ = orig.__name__, orig.__qualname__
    _shutdown.__doc__ = orig.__doc__
    threading._shutdown = _shutdown


def _record_exit_waits(threading):
    me = _thread.get_ident()
    active = getattr(threading, "_active", {})
    for ident, f in sys._current_frames().items():
        t = active.get(ident)
        native = getattr(t, "native_id", None)
        if ident == me or not native:
            continue
        # The outermost one: an Event.wait waits in a Condition.wait, folded.
        found = None
        while f is not None:
            if f.f_code in _exit_waits:
                found = f
            f = f.f_back
        if found is None:
            for kind, waiting in _c_waits.items():
                obj = waiting.get(native)
                if obj is not None:
                    ev(EV_LOCK_WAIT, kind, id(obj), 0, WAIT_FOR_THREAD | native << 32)
                    break
            continue
        loc = found.f_locals
        obj = loc.get("self")
        t0 = loc.get("t0")
        if obj is None:
            continue
        # t0: where the wrapper noted the start; a method wrapped in C has no
        # such local, and the wait then starts at the thread's last event
        # (the GIL let go as it blocked).
        # WAIT_FOR_THREAD: this lock.wait is another thread's, whose tid is
        # in the arg's high half.
        ev(EV_LOCK_WAIT, _exit_waits[found.f_code], id(obj), t0 if isinstance(t0, int) else 0,
           WAIT_FOR_THREAD | native << 32)


def _around(orig, before=None, after=None, fold_inside=False, waits_on=None, finally_=None):
    """orig as a method with pre = before(self, *args, **kwargs) ahead of it
    (before takes any arguments: a wrong call is the original's to refuse,
    with its name in the message; True: pre is now(), a wait's start, taken
    in C; a tuple (exception, message, message): orig takes no arguments,
    and a call with positional or keyword ones raises that) and
    after(self, result, pre) (its value returned) once it returned, its
    inside folded if fold_inside; after EV_QUEUE_PUT or EV_QUEUE_GET: that
    event, recorded in C. In C (wrap_method WRAP_AROUND): a Python
    wrapper's frame showed in the traceback of every exception the original
    raised (a Barrier's BrokenBarrierError, a Queue's Empty), which the
    program may print. This Python fallback is for an interpreter without
    the C functions wrap_method needs (none of 3.10-3.15). waits_on: an
    object kind whose exit waits (_blocks_on) this is, for an orig in C,
    which has no frame to find it by. finally_(self) runs once orig
    returned or raised (its exception kept as it was)."""
    aux = (before, after, fold_inside)
    if waits_on is not None or finally_ is not None:
        aux += (_c_waits.setdefault(waits_on, {}) if waits_on is not None else None, finally_)
    w = wrap_method(orig, WRAP_AROUND, aux)
    if w is not None:
        return w

    def method(*args, **kwargs):
        if after == EV_QUEUE_PUT and _HB:
            _HB(0, id(args[0]))
        if isinstance(before, tuple):
            if len(args) > 1 or kwargs:
                raise before[0](before[1] if len(args) > 1 else before[2])
            pre = None
        else:
            pre = now() if before is True else before(*args, **kwargs) if before else None
        if fold_inside:
            fold(1)
        try:
            r = orig(*args, **kwargs)
        finally:
            if fold_inside:
                fold(-1)
            if finally_ is not None:
                finally_(args[0])
        if after in (EV_QUEUE_PUT, EV_QUEUE_GET):
            if after == EV_QUEUE_GET and _HB:
                _HB(1, id(args[0]))
            ev(after, OBJ_QUEUE, id(args[0]), pre, args[0].qsize())
            return r
        return after(args[0], r, pre) if after is not None else r

    method.__wrapped__ = orig
    return method


def _wrap_init(cls, objkind, fold_inside=True, after=None):
    # A Condition's own lock is named at creation (see the preload's
    # sem_init hook); the internals of Event, Semaphore and Queue are not.
    def named(self, r, pre):
        if after is not None:
            fold(1)
            try:
                after(self)
            finally:
                fold(-1)
        init(objkind, id(self), "%s %s" % (type(self).__name__, _site()))

    cls.__init__ = _around(cls.__init__, None, named, fold_inside)


# (threading.Condition, a subclass with the original methods) once Condition is
# instrumented: what a queue's own Conditions are made of (_queue_conditions).
_plain_condition = None


def _condition(cls):
    global _plain_condition
    orig = {name: cls.__dict__[name] for name in ("__init__", "wait", "notify", "notify_all")}
    _wrap_init(cls, OBJ_CONDITION, fold_inside=False)
    _blocks_on(OBJ_CONDITION, cls.wait)
    # In C, as for queues: Queue.put and get call notify folded, every time.
    c = [wrap_method(cls.wait, EV_COND_WAIT), wrap_method(cls.notify, EV_COND_SIGNAL),
         wrap_method(cls.notify_all, EV_COND_BROADCAST)]
    if None not in c:
        cls.wait, cls.notify, cls.notify_all = c
        plain = type(cls.__name__, (cls,), dict(orig, __slots__=(), __module__=cls.__module__,
                                                 __qualname__=cls.__qualname__))
        _plain_condition = (cls, plain)


def _queue_conditions(queue_cls):
    """A queue's not_empty and not_full serve its put and get, whose events
    fold theirs (and shutdown's notify_all, no event of its own): remade of
    the subclass with Condition's original methods, their notify and wait
    inside put and get are Python calling Python. Through weft's C wrappers
    each was a return into the interpreter (on 3.14 a third of what weft
    added to a put and a get) to record nothing. all_tasks_done keeps them:
    join() waits on it outside any event. Only for a class whose put and
    get are Queue's (a subclass with its own may wait on them itself), and
    made afresh rather than given another __class__, which would cost
    every attribute read on them (3.13+ keep attributes inline only in
    objects made as their class)."""

    def remake(q):
        kind = type(q)
        if _plain_condition is None or kind.put is not queue_cls.put or kind.get is not queue_cls.get:
            return
        cls, plain = _plain_condition
        mutex = getattr(q, "mutex", None)
        for name in ("not_empty", "not_full"):
            c = getattr(q, name, None)
            if type(c) is cls and c._lock is mutex and not c._waiters:
                setattr(q, name, plain(mutex))

    return remake


def _event(cls):
    _wrap_init(cls, OBJ_EVENT)
    orig_set, orig_wait = cls.set, cls.wait

    def before_set(self, *args, **kwargs):
        if not getattr(self, "_weft_internal", False):
            if _HB:
                _HB(2, id(self))
            ev(EV_EVENT_SET, OBJ_EVENT, id(self), 0, 0)

    def after_wait(self, r, t0):
        if not getattr(self, "_weft_internal", False):
            if _HB and r:
                _HB(3, id(self))
            ev(EV_EVENT_WAIT, OBJ_EVENT, id(self), t0, 1 if r else 0)
        return r

    set = _around(orig_set, before_set, None, True)
    wait = _around(orig_wait, True, after_wait, True)
    cls.set, cls.wait = set, wait
    _blocks_on(OBJ_EVENT, wait)


def _semaphore_release(orig_release):
    def before(self, *args, **kwargs):
        n = args[0] if args else kwargs.get("n", 1)
        if not getattr(self, "_weft_internal", False) and isinstance(n, int):
            if _HB:
                _HB(2, id(self))
            ev(EV_LOCK_RELEASE, OBJ_SEMAPHORE, id(self), 0, n)

    return _around(orig_release, before, None, True)


def _semaphore(cls):
    _wrap_init(cls, OBJ_SEMAPHORE)
    orig_acquire, orig_release = cls.acquire, cls.release

    def after_acquire(self, r, t0):
        # A library's own (an executor's idle count): nothing of the program's.
        if getattr(self, "_weft_internal", False):
            return r
        if _HB and r:
            _HB(3, id(self))
        ev(EV_LOCK_ACQUIRE if r else EV_LOCK_FAIL, OBJ_SEMAPHORE, id(self), t0,
           0 if r else 110)
        return r

    acquire = _around(orig_acquire, True, after_acquire, True)
    release = _semaphore_release(orig_release)
    cls.acquire, cls.release = acquire, release
    cls.__enter__ = acquire
    _blocks_on(OBJ_SEMAPHORE, acquire)
    cls.__exit__ = lambda self, t, v, tb: release(self)


def _queue_module(queue):
    # The standard library's _qsize (a length): the queue wrappers read such a
    # queue's size after an operation without taking its mutex again.
    queue_std(queue.Queue._qsize, queue.LifoQueue._qsize, queue.PriorityQueue._qsize)
    _queue_class(queue.Queue)  # LifoQueue and PriorityQueue inherit put/get
    _simple_queue(queue)


def _barrier(cls):
    # Its Condition is its own: a thread waiting at the barrier waits on it.
    _wrap_init(cls, OBJ_BARRIER)
    orig_wait = cls.wait

    def before(self, *args, **kwargs):
        t0 = now()
        # Everything before any party's arrival happens before every
        # party's return (its folded Condition orders nothing itself).
        if _HB:
            _HB(2, id(self))
        return t0

    def after(self, r, t0):
        if _HB:
            _HB(3, id(self))
        ev(EV_BARRIER_WAIT, OBJ_BARRIER, id(self), t0, r)
        return r

    wait = _around(orig_wait, before, after, True)
    cls.wait = wait
    _blocks_on(OBJ_BARRIER, wait)


def _queue_class(cls):
    # C functions (wrap_method): a wrapper written in Python cost a frame and
    # two calls into weft per operation, as much again as the event itself.
    _blocks_on(OBJ_QUEUE, cls.put, cls.get)
    put, get = wrap_method(cls.put, EV_QUEUE_PUT), wrap_method(cls.get, EV_QUEUE_GET)
    wrapped = put is not None and get is not None
    _wrap_init(cls, OBJ_QUEUE, after=_queue_conditions(cls) if wrapped else None)
    if wrapped:
        cls.put, cls.get = put, get


def _simple_queue(queue):
    base = queue.SimpleQueue
    if "__init__" in base.__dict__:
        # The pure-Python SimpleQueue (a queue module without _queue, as
        # test_queue imports it): a class with methods, wrapped as Queue is.
        _queue_class(base)
        return

    def named(cls, queue, pre):
        init(OBJ_QUEUE, id(queue), "SimpleQueue %s" % _site())
        return queue

    class SimpleQueue(base):
        __slots__ = ()

        # In C: SimpleQueue(1) is a TypeError, which the C constructor
        # raises for its own class only (3.11+: and a subclass keeping its
        # __init__), so the wrapper refuses arguments as it would, with no
        # frame of weft's in the traceback. Its lock (a semaphore up to
        # 3.12) is made folded, so it is the queue's own: put's release of
        # it from another thread than its waiter's is no foreign release.
        __new__ = staticmethod(_around(
            base.__new__, (TypeError, "SimpleQueue() takes no positional arguments",
                           "SimpleQueue() takes no keyword arguments"), named, True))

        # In C (_around): methods written here put a "<weft>" frame in the
        # traceback of the Empty a get with a timeout raises, which the
        # program may print.
        put = _around(base.put, True, EV_QUEUE_PUT)
        get = _around(base.get, True, EV_QUEUE_GET, waits_on=OBJ_QUEUE)
        put_nowait = _around(base.put_nowait, True, EV_QUEUE_PUT)
        get_nowait = _around(base.get_nowait, True, EV_QUEUE_GET)

    SimpleQueue.__module__ = base.__module__  # "_queue": repr(type(q)) as untraced
    SimpleQueue.__qualname__ = "SimpleQueue"
    queue.SimpleQueue = SimpleQueue


def _rlock_levels(threading):
    """RLock re-entry never reaches libc: a subclass reports its levels."""
    base = getattr(threading, "_CRLock", None)
    if base is None:
        return
    owned, acq, rel = base._is_owned, base.acquire, base.release
    save, restore = base._release_save, base._acquire_restore
    # In C (wrap_method): the methods below in Python cost two frames and
    # four calls into weft per `with rlock:`, three times the block itself.
    c = [wrap_method(acq, WRAP_RLOCK_ACQUIRE, owned), wrap_method(rel, WRAP_RLOCK_RELEASE),
         wrap_method(save, WRAP_RLOCK_SAVE), wrap_method(restore, WRAP_RLOCK_RESTORE)]
    if None not in c:
        class RLock(base):
            __slots__ = ()
            acquire = __enter__ = c[0]
            release = __exit__ = c[1]
            _release_save, _acquire_restore = c[2], c[3]

        RLock.__module__ = base.__module__
        RLock.__qualname__ = base.__qualname__
        threading._CRLock = RLock
        return

    class RLock(base):
        __slots__ = ()

        def acquire(self, blocking=True, timeout=-1):
            if owned(self):
                r = acq(self, blocking, timeout)
                rlock(1, id(self), 0)
                return r
            r = acq(self, blocking, timeout)
            if r:
                rlock(0, id(self), 0)
            return r

        __enter__ = acquire

        def release(self):
            rlock(2, id(self), 0)
            rel(self)

        def __exit__(self, t, v, tb):
            rlock(2, id(self), 0)
            rel(self)

        def _release_save(self):
            rlock(3, id(self), 0)
            return save(self)

        def _acquire_restore(self, state):
            restore(self, state)
            rlock(4, id(self), state[0])

    RLock.__module__ = base.__module__
    RLock.__qualname__ = base.__qualname__
    threading._CRLock = RLock


def _threads(threading):
    orig = threading.Thread._bootstrap_inner

    def _bootstrap_inner(self):
        # Its target named in its ring: a loop that records nothing has GIL events.
        thread(self.name, _get_ident(), getattr(self, "_target", None))
        if _HB is None:
            return orig(self)
        # What the starter did before start() happens before the thread; all the
        # thread did happens before a join() that sees it ended.
        _HB(1, id(self))
        try:
            return orig(self)
        finally:
            _HB(0, id(self) + 1)

    threading.Thread._bootstrap_inner = _bootstrap_inner
    _get_ident = threading.get_ident
    orig_init = threading.Thread.__init__

    def after_init(self, r, pre):
        started = getattr(self, "_started", None)
        if started is not None:
            started._weft_internal = True

    threading.Thread.__init__ = _around(orig_init, None, after_init, True)
    # The start/stop handshakes (an Event, the thread state lock) are threading's own.
    orig_start = threading.Thread.start

    def before_start(self, *args, **kwargs):
        if _HB:
            _HB(0, id(self))

    threading.Thread.start = _around(orig_start, before_start, None, True)
    orig_join = threading.Thread.join

    def after_join(self, r, t0):
        if not self.is_alive():
            if _HB:
                _HB(1, id(self) + 1)
            ev(EV_THREAD_JOIN, 0, 0, t0, getattr(self, "native_id", None) or 0)

    threading.Thread.join = _around(orig_join, True, after_join, True)
    orig_is_alive = threading.Thread.is_alive

    def is_alive(self):
        # A thread seen ended (socketserver reaps its threads so) is ordered before the reader.
        r = orig_is_alive(self)
        if not r and _HB and self._started.is_set():
            _HB(1, id(self) + 1)
        return r

    threading.Thread.is_alive = is_alive
    # A thread that renames itself (a multiprocessing manager's server
    # threads take their client's name) is named so in the trace; 3.14+
    # tells the kernel 15 bytes of it, earlier versions nothing. A thread
    # not started yet gives its name when it starts. One renamed by another
    # thread keeps its name in the trace: the record names the thread that
    # makes it, and the writer's view of the other thread is not in time
    # order (an ident is reused once its thread ends).
    name_prop = threading.Thread.name
    if isinstance(name_prop, property) and name_prop.fset is not None:

        def set_name(self, name):
            name_prop.fset(self, name)
            if self.ident is not None and self.ident == _get_ident():
                thread(str(self.name), self.ident)

        threading.Thread.name = property(name_prop.fget, set_name, name_prop.fdel,
                                         name_prop.__doc__)


def _multiprocessing(mod):
    if mod.__name__ == "multiprocessing.process":
        orig = mod.BaseProcess._bootstrap

        def _bootstrap(self, *args, **kwargs):
            process(self.name)
            return orig(self, *args, **kwargs)

        mod.BaseProcess._bootstrap = _bootstrap
        orig_start = mod.BaseProcess.start

        def after_start(self, r, pre):
            # The parent names the child too: a worker killed before it ran
            # any Python (a pool's terminate() while it starts) is still that
            # worker. Its own name, when it gets that far, is the same.
            pid = getattr(getattr(self, "_popen", None), "pid", None)
            if isinstance(pid, int) and pid > 0:
                process(self.name, pid)
            return r

        mod.BaseProcess.start = _around(orig_start, None, after_start)
    elif mod.__name__ == "multiprocessing.spawn":
        # A spawned or forkserver child learns its name here, before it
        # imports the main module again: a pool's terminate() can kill a
        # worker that never reached _bootstrap, and it is still that worker.
        orig_prepare = mod.prepare

        def prepare(data):
            name = data.get("name") if isinstance(data, dict) else None
            if isinstance(name, str):
                process(name)
            return orig_prepare(data)

        prepare.__wrapped__ = orig_prepare
        prepare.__name__, prepare.__qualname__ = orig_prepare.__name__, orig_prepare.__qualname__
        prepare.__doc__ = orig_prepare.__doc__
        mod.prepare = prepare
    elif mod.__name__ == "multiprocessing.queues":
        q = mod.Queue
        _wrap_init(q, OBJ_QUEUE)
        named_init = q.__init__

        # The feeder thread waits on the queue's own Condition for puts: named
        # after its queue (it is made inside the queue's folded __init__), and
        # each put's notify recorded on it (folded into the put), so that the
        # feeder's wait has the put that ended it.
        def name_condition(self, r, pre):
            cond = getattr(self, "_notempty", None)
            if cond is not None:
                init(OBJ_CONDITION, id(cond), "Condition of Queue %s" % _site())
            return r

        q.__init__ = _around(named_init, None, name_condition)
        orig_put, orig_get = q.put, q.get

        def after_put(self, r, t0):
            ev(EV_QUEUE_PUT, OBJ_QUEUE, id(self), t0, 0)
            cond = getattr(self, "_notempty", None)
            if cond is not None:
                ev(EV_COND_SIGNAL, OBJ_CONDITION, id(cond), 0, 1)

        def after_get(self, r, t0):
            ev(EV_QUEUE_GET, OBJ_QUEUE, id(self), t0, 0)
            return r

        put = _around(orig_put, True, after_put, True)
        get = _around(orig_get, True, after_get, True)
        q.put, q.get = put, get
        _blocks_on(OBJ_QUEUE, put, get)


def _threading_module(threading):
    _condition(threading.Condition)
    _event(threading.Event)
    _semaphore(threading.Semaphore)
    _barrier(threading.Barrier)
    if "release" in threading.BoundedSemaphore.__dict__:
        _bounded_semaphore(threading.BoundedSemaphore)
    _threads(threading)
    if _lock_alloc is not None:
        threading._allocate_lock = _lock_alloc  # imported before the bootstrap
    if _rlock_subclass:
        _rlock_levels(threading)
    _waits_at_exit(threading)


def _futures(mod):
    """For --races: a task's work happens before what sees its Future done."""
    if _HB is None:
        return
    f = mod.Future
    orig_result, orig_exception, orig_done = f.result, f.exception, f.done
    orig_set_result, orig_set_exception = f.set_result, f.set_exception

    def before_set(self, *args, **kwargs):
        _HB(0, id(self))

    def seen_if_done(self):
        if orig_done(self):
            _HB(1, id(self))

    def after_done(self, r, pre):
        if r:
            _HB(1, id(self))
        return r

    # In C (_around): in Python, result() re-raising the task's exception
    # carried a "<weft>" frame into the traceback the program printed.
    # The edge is taken whether the outcome is a value or the task's exception.
    f.set_result = _around(orig_set_result, before_set)
    f.set_exception = _around(orig_set_exception, before_set)
    f.result = _around(orig_result, finally_=seen_if_done)
    f.exception = _around(orig_exception, finally_=seen_if_done)
    f.done = _around(orig_done, None, after_done)
    orig_snapshot = getattr(f, "_get_snapshot", None)
    if orig_snapshot is not None:
        # 3.15's asyncio copies a task's outcome (to_thread, run_in_executor) through it.
        def _get_snapshot(self):
            r = orig_snapshot(self)
            if r[0]:
                _HB(1, id(self))
            return r

        f._get_snapshot = _get_snapshot


def _bounded_semaphore(cls):
    # BoundedSemaphore overrides release() only; acquire and __init__ come from Semaphore.
    release = _semaphore_release(cls.release)
    cls.release = release
    cls.__exit__ = lambda self, t, v, tb: release(self)


def _futures_thread(mod):
    """A ThreadPoolExecutor's idle-worker count is its own bookkeeping: each
    submit tries it without waiting (a lock.fail when no worker is idle),
    each idle worker releases it. It is no lock of the program's."""
    cls = getattr(mod, "ThreadPoolExecutor", None)
    if cls is None:
        return
    orig_init = cls.__init__

    def after_init(self, r, pre):
        sem = getattr(self, "_idle_semaphore", None)
        if sem is not None:
            sem._weft_internal = True

    cls.__init__ = _around(orig_init, None, after_init)
    # A task's function is named as it is submitted: the worker that runs it
    # may record nothing but GIL events there (a call that blocks), named then.
    orig_submit = cls.submit

    def before_submit(self, fn=None, /, *args, **kwargs):
        if fn is not None:
            know(fn)

    cls.submit = _around(orig_submit, before_submit)


class _PatchAfterImport:
    """Patches modules right after they are imported (again for a fresh copy:
    test.support's import_fresh_module, importlib.reload)."""

    patches = {"threading": _threading_module, "queue": _queue_module,
               "multiprocessing.process": _multiprocessing,
               "multiprocessing.queues": _multiprocessing,
               "multiprocessing.spawn": _multiprocessing,
               "concurrent.futures._base": _futures,
               "concurrent.futures.thread": _futures_thread}

    def find_spec(self, name, path=None, target=None):
        patch = self.patches.get(name)
        if patch is None:
            return None
        # The finders after this one, as the import system would ask them
        # (importlib.util.find_spec would import importlib.util for the program).
        finders = sys.meta_path
        if self in finders:
            finders = finders[finders.index(self) + 1:]
        spec = None
        for finder in finders:
            find = getattr(finder, "find_spec", None)
            spec = find(name, path, target) if find is not None else None
            if spec is not None:
                break
        # A loader shared by modules (a class: frozen, built-in) is left alone.
        if spec is None or spec.loader is None or isinstance(spec.loader, type):
            return spec
        orig_exec = spec.loader.exec_module

        def exec_module(module):
            orig_exec(module)
            # weft's failure must not become the program's ImportError.
            try:
                patch(module)
            except Exception as e:
                sys.stderr.write("weft: warning: %s is not instrumented (%s: %s)\n"
                                 % (name, type(e).__name__, e))

        spec.loader.exec_module = exec_module
        return spec


if RACES is not None:
    _races_setup(RACES)
# The main thread, named as threading will name it: threading may never be
# imported, or first in another thread.
_main_ident = _thread.get_ident()
thread("MainThread", _main_ident)


def _forked():
    """A forked child's one thread is the thread that called fork(): Python
    keeps its name (threading's own after-fork handler makes it the main
    thread), where the kernel's name is the program's or 15 bytes of it."""
    me = _thread.get_ident()
    threading = sys.modules.get("threading")
    if threading is not None:
        try:
            thread(threading.current_thread().name, me)
        except Exception:
            pass
    elif me == _main_ident:
        thread("MainThread", me)


# posix, not os: always loaded, where os may not be (python -S -I).
import posix
if hasattr(posix, "register_at_fork"):
    posix.register_at_fork(after_in_child=_forked)

# Locks are seen through the semaphore underneath. From 3.13.1 a Lock is a
# PyMutex, and from 3.14 an RLock a recursive one, made and taken without
# libc: then the lock type itself is instrumented (hook_locks, hook_rlocks),
# and if that cannot be done, say so once rather than record nothing of
# them in silence. A semaphore RLock's outer level is the semaphore's; its
# inner levels come from _rlock_levels' subclass, put into threading.
_lock_alloc = None
_rlock_subclass = False
_n = sem_inits()
_probe = _thread.allocate_lock()
if sem_inits() == _n:
    _lock_alloc = hook_locks(_thread.LockType, _thread.allocate_lock)
    if _lock_alloc is not None:
        _thread.allocate_lock = _thread.allocate = _lock_alloc
    else:
        sys.stderr.write("weft: warning: Python %d.%d.%d makes threading.Lock without a"
                         " semaphore: Lock operations are not recorded\n" % sys.version_info[:3])
if getattr(_thread, "RLock", None) is not None:
    _n = sem_inits()
    _probe = _thread.RLock()
    if sem_inits() != _n:
        _rlock_subclass = True
    elif not hook_rlocks(_thread.RLock):
        sys.stderr.write("weft: warning: Python %d.%d.%d makes threading.RLock without a"
                         " semaphore: RLock operations are not recorded\n" % sys.version_info[:3])
del _n, _probe
for _name, _patch in _PatchAfterImport.patches.items():
    if _name in sys.modules:
        _patch(sys.modules[_name])
sys.meta_path.insert(0, _PatchAfterImport())
