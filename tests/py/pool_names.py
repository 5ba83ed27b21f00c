# A multiprocessing Pool of two fork workers (ForkPoolWorker-1 and -2),
# closed and joined: both run to their end (a terminate() could kill one
# before it has named itself).
import multiprocessing as mp


def square(x):
    return x * x


if __name__ == "__main__":
    pool = mp.get_context("fork").Pool(2)
    print("sum", sum(pool.map(square, range(20))))
    pool.close()
    pool.join()
