# expect: none
# asyncio.to_thread: what the worker wrote is read after the await returns.
import asyncio


class Box:
    def __init__(self):
        self.value = None


def fill(box, n):
    box.value = n


async def main():
    boxes = [Box() for _ in range(4)]
    await asyncio.gather(*(asyncio.to_thread(fill, b, i) for i, b in enumerate(boxes)))
    print(sum(b.value for b in boxes))


asyncio.run(main())
