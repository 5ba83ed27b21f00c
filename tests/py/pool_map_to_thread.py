# Correct code through library machinery (issue #18): multiprocessing.Pool.map
# and asyncio.to_thread. Their internal locks, queues and semaphores are the
# libraries' own: weft run --fail-on all must exit 0, with no finding.
import asyncio
import multiprocessing


def square(x):
    return x * x


async def main():
    return sum(await asyncio.gather(*(asyncio.to_thread(square, i) for i in range(50))))


if __name__ == "__main__":
    with multiprocessing.Pool(3) as pool:
        print(sum(pool.map(square, range(100))))
    print(asyncio.run(main()))
