"""pool-advisor's reference Python workloads, for its demo and tests (written for this project).

Each takes one JSON value and returns one, and each favours one way of running:
  pure_loop            Python bytecode all the time, holding the GIL    -> processes
  sleeper              waits without computing                          -> threads
  c_hash               hashlib's C code, which releases the GIL         -> threads (they scale)
  fetch_then_compute   waits, then computes on what it fetched          -> a split (fetch, compute)
  large_argument       little work on a large argument                  -> no processes (shipping)
  echo                 returns its input: a pool's own cost per call (pool-bench python)
pool-advisor writes this file out beside its Python worker; `pool-advisor demo` imports it.
"""
import hashlib
import time


def pure_loop(n):
    """Pure-Python arithmetic: holds the GIL the whole time (processes)."""
    total = 0
    for i in range(int(n)):
        total = (total * 31 + i) % 1000003
    return total


def sleeper(seconds):
    """Waits without computing (threads)."""
    time.sleep(float(seconds))
    return seconds


def c_hash(rounds):
    """Time spent in hashlib's C code, which releases the GIL for large buffers (threads scale)."""
    block = b"x" * (1 << 20)
    digest = b""
    for _ in range(int(rounds)):
        digest = hashlib.sha256(block + digest).digest()
    return digest.hex()


def fetch_then_compute(item):
    """Waits as if fetching, then computes on what it fetched (a split pays)."""
    time.sleep(float(item["wait"]))
    return pure_loop(item["work"])


def fetch(item):
    """The fetch stage of fetch_then_compute, alone."""
    time.sleep(float(item["wait"]))
    return item["work"]


def compute(work):
    """The compute stage of fetch_then_compute, alone."""
    return pure_loop(work)


def large_argument(values):
    """Sums a large list: the argument is far more to ship than the work it gets (no processes)."""
    return sum(values[::64])


def echo(value):
    """Returns its input: what running a call costs, with no work in it."""
    return value
