# Queue events however the class is reached: a queue made before the
# program's first line (a sitecustomize the test puts on PYTHONPATH makes
# one), the queue module reloaded (its fresh classes are instrumented
# too), and a subclass's get patched by a mock after instances were made.
import builtins
import importlib
import queue
from unittest import mock

early = getattr(builtins, "WEFT_TEST_EARLY_QUEUE", None)
if early is not None:
    early.put(1)
    early.get()
q = queue.Queue()
q.put(1)
q.get()
queue = importlib.reload(queue)
q2 = queue.Queue()
q2.put(1)
q2.put(2)
q2.get()


class Q(queue.Queue):
    def __init__(self):
        super().__init__()


Q()
with mock.patch.object(Q, "get", return_value="mocked"):
    q3 = Q()
    q3.put("real")
    print(q3.get(), early is not None)
