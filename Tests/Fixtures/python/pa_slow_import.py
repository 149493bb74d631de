"""A module that does heavy work when imported (the article's pitfall)."""
import time

time.sleep(0.3)


def double(n):
    return n * 2
