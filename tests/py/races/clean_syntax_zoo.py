# expect: none
# Many syntax forms through the instrumenter: output must not change.
import asyncio
import collections
import threading
from dataclasses import dataclass

G = {"a": 1}
counter = 0


class Slotted:
    __slots__ = ("x", "y")

    def __init__(self):
        self.x = 1
        self.y = [1, 2, 3]


class Prop:
    def __init__(self):
        self._v = 0

    @property
    def v(self):
        return self._v

    @v.setter
    def v(self, val):
        self._v = val


@dataclass
class DC:
    a: int = 1
    b: str = "x"


class Base:
    cls_attr = {"k": 0}

    def hello(self):
        return "base"


class Child(Base):
    def hello(self):
        return "child+" + super().hello()


def closure():
    n = 0

    def inc():
        nonlocal n
        n += 1
        return n
    return inc


def gen(d):
    yield from (d[k] for k in sorted(d))


async def coro(d):
    await asyncio.sleep(0)
    d["async"] = d.get("async", 0) + 1
    return d["async"]


def main():
    global counter
    out = []
    d = {"x": 1, "y": [1, 2, 3], ("t", 1): "tuple"}
    d["z"] = d["x"] + 1
    d["x"] += 10
    d["y"][0] += 5
    d["y"][1:2] = [7, 8]
    d["y"][0:1] += [9]
    del d["z"]
    out.append(("x" in d, "z" not in d, d.get("q", "dflt"), d.setdefault("w", 4), d.pop("w")))
    out.append(d[("t", 1)])
    a, b = d["x"], d["y"][-1]
    d["a"] = d["b"] = 3
    [c, e] = [d["a"], d["b"]]
    out.append((a, b, c, e))
    s = Slotted()
    s.x += 1
    s.y[2] = 0
    out.append((s.x, s.y))
    p = Prop()
    p.v = 5
    p.v += 1
    out.append(p.v)
    dc = DC()
    dc.a *= 3
    out.append(dc)
    ch = Child()
    out.append(ch.hello())
    Base.cls_attr["k"] += 1
    out.append(Base.cls_attr)
    inc = closure()
    inc()
    out.append(inc())
    out.append(list(gen({"b": 2, "a": 1})))
    out.append(asyncio.run(coro({})))
    counter += 1
    G["a"] = G.get("a") + counter
    out.append((counter, G))
    dd = collections.defaultdict(list)
    dd["k"].append(1)
    dd["k"] += [2]
    od = collections.OrderedDict(a=1)
    od["b"] = od["a"] + 1
    out.append((dict(dd), list(od.items())))
    lam = lambda m: m["k"] * 2  # noqa: E731
    out.append(lam({"k": 21}))
    if (n := d.get("x")) > 5:
        out.append(n)
    match d:
        case {"x": xv}:
            out.append(("match", xv))
    out.append(f"{d['x']}-{s.y[0]}")
    try:
        d["missing"]
    except KeyError as ex:
        out.append(("keyerror", str(ex)))
    try:
        s.nope = 1
    except AttributeError:
        out.append("slots")
    del p._v
    out.append(hasattr(p, "_v"))
    args = ("x", None)
    out.append(d.get(*args))
    out.append(d.get("x", None))
    lst = [0] * 3
    lst[1] = 5
    lst[-1] -= 1
    out.append(lst)
    t = threading.Thread(target=lambda: out.append(G["a"]))
    t.start()
    t.join()
    loc = threading.local()
    loc.v = 1
    loc.v += 1
    out.append(loc.v)
    return out


for item in main():
    print(item)
