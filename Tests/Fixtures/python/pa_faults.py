"""Python functions that fail in known ways, for pool-advisor's tests."""
import os


def not_json(n):
    """Returns a set, which JSON cannot hold."""
    return {n}


def raises_on_three(n):
    if n == 3:
        raise ValueError("three is not allowed")
    return n * 2


def crashes_on_three(n):
    if n == 3:
        os._exit(3)
    return n * 2


def counted(n):
    """Appends its input to the file named by POOL_ADVISOR_COUNT_FILE, then returns it."""
    with open(os.environ["POOL_ADVISOR_COUNT_FILE"], "a") as file:
        file.write("%s\n" % n)
    return n


def crash_or_count(n):
    """Counts its input like counted, and ends its worker on 3 (after counting it)."""
    counted(n)
    if n == 3:
        os._exit(3)
    return n
