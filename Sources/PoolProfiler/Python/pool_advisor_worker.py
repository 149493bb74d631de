"""pool-advisor's Python worker: serves one Python function to pool-advisor's process pool.

pool-advisor writes this file out (it is compiled into the binary) and starts it as
`python3 pool_advisor_worker.py`, with the function to serve in the environment. It needs the
standard library only. It speaks the pool's framed protocol (version 5) on its standard input
and output, which it moves aside first, so that what the function prints goes to standard
error instead of corrupting the stream.

Two tasks are served:
  python-call   one JSON value in, the function's result as JSON out (one input line each);
  python-probe  the profiler's measurements: per-call wall and thread CPU time, N copies on
                N threads in this interpreter (where the GIL shows), the pickled size and time
                of arguments and results (what ProcessPoolExecutor would ship), and the costs
                of Python's own executors on this interpreter.

Environment:
  POOL_ADVISOR_WORKER            the pool's setting: "5:0:<maximum frame bytes>:0:<faults>:stdio"
  POOL_ADVISOR_PYTHON_FUNCTION   "module:function" (empty: the probe alone, no import)
  POOL_ADVISOR_PYTHON_FETCH      "module:function" of a fetch stage: each call is then
                                 FUNCTION(FETCH(value)), and a split can be timed
  POOL_ADVISOR_PYTHON_PATH       directories put first on sys.path, separated by os.pathsep
  POOL_ADVISOR_PYTHON_THREADS    threads each batch's calls run on (default 1)
"""

import importlib
import json
import os
import pickle
import select
import signal
import struct
import sys
import threading
import time
import traceback

PROTOCOL_VERSION = 5
MAGIC = b"PW"
HELLO, FATAL, RUN, RESULTS = 1, 2, 3, 4
SUCCESS, TASK_ERROR, CODING_ERROR = 0, 1, 2
INLINE, FAILED_IN_PARENT = 0, 1
FATAL_EXIT = 70
# The Swift side's task signatures: a JSON text in, a JSON text out.
CALL_SIGNATURE = "(Swift.String) -> PoolProfiler.JSONText"
PROBE_SIGNATURE = "(Swift.String) -> Swift.String"
CALL_TASK, PROBE_TASK = "python-call", "python-probe"
HEADER = struct.Struct("<2sBBI")
RESULTS_HEAD = struct.Struct("<QIIQ")
# A results frame of one item, header to the item's length field, packed in one call.
ONE_RESULT = struct.Struct("<2sBBIQIIQBI")


def varint(value):
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def wire_string(text):
    # A lone surrogate (from "\ud800" in a JSON text) has no UTF-8 form: escaped, not fatal.
    data = text.encode("utf-8", "backslashreplace")
    if len(data) < 0x80:
        return bytes((len(data),)) + data
    return varint(len(data)) + data


def wire_strings(texts):
    return struct.pack("<I", len(texts)) + b"".join(wire_string(t) for t in texts)


def read_wire_string(field):
    """The text of a wire-encoded String field (a varint length, then UTF-8)."""
    if field and field[0] < 0x80 and field[0] == len(field) - 1:  # a short string: one length byte
        return bytes(field[1:]).decode("utf-8")
    length, shift, offset = 0, 0, 0
    while True:
        if offset >= len(field) or shift > 63:
            raise ValueError("truncated string length")
        byte = field[offset]
        offset += 1
        length |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            break
    if offset + length != len(field):
        raise ValueError("string length %d does not match its field of %d bytes" % (length, len(field) - offset))
    return bytes(field[offset:]).decode("utf-8")


def failure(type_name, message):
    return wire_string(str(type_name)) + wire_string(str(message))


def describe(error):
    """The error's type and message, with the innermost frame of user code."""
    try:
        message = str(error)
    except BaseException:  # an exception whose __str__ raises
        message = "(its message could not be formed)"
    frames = traceback.extract_tb(error.__traceback__)
    mine = os.path.abspath(__file__)
    outside = [
        f for f in frames
        if os.path.abspath(f.filename) != mine and not f.filename.startswith("<frozen") and "/importlib/" not in f.filename
    ]
    if outside:
        last = outside[-1]
        message += " (at %s:%d in %s)" % (last.filename, last.lineno, last.name)
    kind = type(error)
    name = kind.__name__ if kind.__module__ == "builtins" else "%s.%s" % (kind.__module__, kind.__qualname__)
    return name, message


class Stream:
    """The protocol's two descriptors, moved off standard input and output."""

    def __init__(self):
        self.requests = os.dup(0)
        self.replies = os.dup(1)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.dup2(2, 1)  # print() now reaches standard error
        self.reader = os.fdopen(self.requests, "rb", buffering=1 << 16)
        self.lock = threading.Lock()

    def send(self, kind, payload):
        self.write(HEADER.pack(MAGIC, kind, 0, len(payload)) + payload)

    def write(self, frame):
        with self.lock:
            view = memoryview(frame)
            while view:
                written = os.write(self.replies, view)
                view = view[written:]

    def receive(self):
        """(kind, payload) of the next frame, or None at the end of the stream."""
        head = self.reader.read(HEADER.size)
        if not head:
            return None
        if len(head) < HEADER.size:
            raise ValueError("the stream ended inside a frame header")
        magic, kind, _, length = HEADER.unpack(head)
        if magic != MAGIC:
            raise ValueError("a frame header starts with %r, not the protocol's magic" % magic)
        if length > maximum_frame_bytes:
            raise ValueError("a frame announces %d bytes, more than the maximum of %d" % (length, maximum_frame_bytes))
        payload = self.reader.read(length)
        if len(payload) < length:
            raise ValueError("the stream ended inside a frame")
        return kind, payload

    def watch_for_hang_up(self):
        """Exits as soon as nobody reads the replies: the pool or its launcher is gone."""
        poller = select.poll()
        poller.register(self.replies, select.POLLERR | select.POLLHUP)
        while True:
            if poller.poll():
                stop_children()
                os._exit(0)


def stop_children():
    """Ends the processes multiprocessing forked here (a pool the function's module started):
    they hold the reply pipe, and the pool would wait on it."""
    module = sys.modules.get("multiprocessing")
    if module is None:
        return
    try:
        for child in module.active_children():
            child.kill()
    except BaseException:
        pass


def fatal(stream, message):
    try:
        stream.send(FATAL, wire_string(message))
    finally:
        os._exit(FATAL_EXIT)


def load_function(spec):
    """The callable `module:function` names, and the seconds its import took."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise LookupError("%r is not module:function (for example mytasks:score)" % spec)
    started = time.perf_counter()
    try:
        module = importlib.import_module(module_name)
    except BaseException as error:  # SystemExit at import time too
        kind, message = describe(error)
        raise LookupError(
            "cannot import module %r: %s: %s (sys.path starts %s; add the module's directory with --path DIR)"
            % (module_name, kind, message, sys.path[:3])
        )
    seconds = time.perf_counter() - started
    target = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            names = sorted(n for n in dir(module) if not n.startswith("_") and callable(getattr(module, n, None)))
            raise LookupError(
                "module %r (%s) has no function %r; its callables are: %s"
                % (module_name, getattr(module, "__file__", "?"), attribute, ", ".join(names[:20]) or "none")
            )
        target = getattr(target, part)
    if not callable(target):
        raise LookupError("%s is a %s, not a function" % (spec, type(target).__name__))
    return target, seconds, getattr(module, "__file__", None)


# Made once: json.dumps with any option builds a new encoder on every call.
UNICODE_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False)
ASCII_JSON = json.JSONEncoder(allow_nan=False)


def to_json(value):
    try:
        return UNICODE_JSON.encode(value)
    except UnicodeEncodeError:
        return ASCII_JSON.encode(value)


class Worker:
    def __init__(self, stream):
        self.stream = stream
        self.spec = os.environ.get("POOL_ADVISOR_PYTHON_FUNCTION", "")
        self.fetch_spec = os.environ.get("POOL_ADVISOR_PYTHON_FETCH", "")
        self.stages = None
        self.threads = max(1, int(os.environ.get("POOL_ADVISOR_PYTHON_THREADS", "1") or 1))
        self.function = None
        self.import_seconds = 0.0
        self.module_file = None
        self.outputs = {}
        self.executor = None

    def start(self):
        extra = [p for p in os.environ.pop("POOL_ADVISOR_PYTHON_PATH", "").split(os.pathsep) if p]
        os.environ.pop("POOL_ADVISOR_PYTHON_FUNCTION", None)
        os.environ.pop("POOL_ADVISOR_PYTHON_THREADS", None)
        os.environ.pop("POOL_ADVISOR_PYTHON_FETCH", None)
        here = os.path.dirname(os.path.abspath(__file__))
        # This file's directory goes last (it holds pool_advisor_workloads, the reference
        # workloads), the directories given and the current one first, as `python -c` has it.
        rest = [p for p in sys.path if os.path.abspath(p or ".") != here]
        sys.path[:] = extra + [os.getcwd()] + rest + [here]
        if self.spec:
            try:
                self.function, self.import_seconds, self.module_file = load_function(self.spec)
                if self.fetch_spec:
                    fetch, seconds, _ = load_function(self.fetch_spec)
                    self.import_seconds += seconds
                    import functools

                    self.stages = (fetch, self.function)
                    # A partial of a module-level function pickles (by reference), so a
                    # ProcessPoolExecutor can run the two stages as one call too.
                    self.function = functools.partial(_staged, fetch, self.function)
            except LookupError as error:
                fatal(self.stream, str(error))
        hello = (
            struct.pack("<Ii", PROTOCOL_VERSION, os.getpid())
            + wire_string("python " + sys.version.split()[0])
            + wire_string(sys.executable or "python")
            + wire_strings([CALL_TASK, PROBE_TASK])
            + wire_strings([CALL_SIGNATURE, PROBE_SIGNATURE])
            + b"\x00"
        )
        self.stream.send(HELLO, hello)

    def serve(self):
        while True:
            try:
                frame = self.stream.receive()
            except (OSError, ValueError) as error:
                fatal(self.stream, "the Python worker could not read its request stream: %s" % error)
            if frame is None:
                stop_children()
                os._exit(0)
            kind, payload = frame
            if kind != RUN:
                fatal(self.stream, "the Python worker received a frame of unknown kind %d" % kind)
            try:
                self.run_batch(payload)
            except (ValueError, struct.error, IndexError) as error:
                fatal(self.stream, "the Python worker could not run a batch: %s" % error)

    def run_batch(self, payload):
        batch, task, count = struct.unpack_from("<QII", payload, 0)
        offset = 16
        if task > 1:
            raise ValueError("task index %d is not registered" % task)
        items = []
        for _ in range(count):
            placement = payload[offset]
            (length,) = struct.unpack_from("<I", payload, offset + 1)
            offset += 5
            if offset + length > len(payload):
                raise ValueError("an item runs past the end of its frame")
            items.append((placement, payload[offset : offset + length]))
            offset += length
        if count == 0:  # the pool waits for an answer to every batch
            self.stream.send(RESULTS, RESULTS_HEAD.pack(batch, 0, 0, 0))
            return
        serve = self.call if task == 0 else self.probe
        if self.threads > 1 and task == 0 and count > 1:
            if self.executor is None:
                from concurrent.futures import ThreadPoolExecutor

                self.executor = ThreadPoolExecutor(max_workers=self.threads)
            futures = [self.executor.submit(self.timed, serve, item) for item in items]
            for position, future in enumerate(futures):
                self.reply(batch, position, *future.result())
        else:
            for position, item in enumerate(items):
                self.reply(batch, position, *self.timed(serve, item))

    @staticmethod
    def timed(serve, item):
        started = time.perf_counter_ns()
        placement, field = item
        if placement == FAILED_IN_PARENT:
            status, body = CODING_ERROR, bytes(field)
        elif placement != INLINE:
            status, body = CODING_ERROR, failure("WireError", "a Python worker takes every value inline")
        else:
            try:
                status, body = serve(field)
            except BaseException as error:  # nesting too deep for json, and anything else: this item's
                status, body = CODING_ERROR, failure(*describe(error))
        return status, body, time.perf_counter_ns() - started

    def reply(self, batch, position, status, body, busy):
        record_bytes = 5 + len(body)
        if record_bytes + RESULTS_HEAD.size + HEADER.size > maximum_frame_bytes:
            status = CODING_ERROR
            body = failure(
                "WireError",
                "the result (%d bytes) exceeds the pool's maximum frame of %d bytes; return less"
                % (len(body), maximum_frame_bytes),
            )
        head = ONE_RESULT.pack(
            MAGIC, RESULTS, 0, RESULTS_HEAD.size + 5 + len(body), batch, position, 1, busy, status, len(body)
        )
        self.stream.write(head + body)

    def call(self, field):
        try:
            text = read_wire_string(field)
            argument = json.loads(text)
        except (ValueError, RecursionError) as error:
            return CODING_ERROR, failure(type(error).__name__, "the input is not one JSON value: %s" % error)
        try:
            result = self.function(argument)
        except BaseException as error:  # a task's SystemExit fails its item, not the worker
            return TASK_ERROR, failure(*describe(error))
        try:
            encoded = to_json(result)
        except (TypeError, ValueError, RecursionError) as error:
            return CODING_ERROR, failure(
                type(error).__name__,
                "the result (a %s) is not JSON-serialisable: %s; return dicts, lists, strings, numbers, booleans or None"
                % (type(result).__name__, error),
            )
        return SUCCESS, wire_string(encoded)

    def probe(self, field):
        try:
            request = json.loads(read_wire_string(field))
            operation = getattr(probes, "op_" + str(request.get("op")))
        except (ValueError, AttributeError) as error:
            return CODING_ERROR, failure("ValueError", "not a probe request: %s" % error)
        try:
            return SUCCESS, wire_string(json.dumps(operation(self, request)))
        except BaseException as error:
            return TASK_ERROR, failure(*describe(error))


class probes:
    """The profiler's measurements, each answering one probe request with a JSON object."""

    @staticmethod
    def op_info(worker, request):
        import multiprocessing
        import platform
        import sysconfig

        check = getattr(sys, "_is_gil_enabled", None)
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:
            cores = os.cpu_count() or 1
        return {
            "version": sys.version.split()[0],
            "implementation": platform.python_implementation(),
            "executable": sys.executable or "python",
            "gil_enabled": bool(check()) if check else True,
            "gil_check": "sys._is_gil_enabled" if check else "absent (the GIL is always on)",
            "free_threaded_build": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
            "function": worker.spec,
            "fetch": worker.fetch_spec or None,
            "module_file": worker.module_file,
            "import_seconds": worker.import_seconds,
            "start_method": multiprocessing.get_start_method(allow_none=True) or multiprocessing.get_context().get_start_method(),
            "cores": cores,
            "pid": os.getpid(),
            "thread_id": threading.get_native_id(),
        }

    @staticmethod
    def arguments(request):
        values = []
        for index, text in enumerate(request["inputs"]):
            try:
                values.append(json.loads(text))
            except ValueError as error:
                raise ValueError("input %d is not one JSON value: %s" % (index, error))
        return values

    @staticmethod
    def op_serial(worker, request):
        """Calls one at a time on this thread, each timed by wall and thread CPU clocks."""
        values = probes.arguments(request)
        limit = float(request.get("seconds", 1.0))
        minimum, maximum = int(request.get("min_calls", 20)), int(request.get("max_calls", 10000))
        first = request.get("first", 0)
        walls, cpus, failures = [], [], []
        failed = 0
        schedstat = probes.schedstat()
        usage = probes.switches()
        began = time.perf_counter()
        calls = 0
        while calls < maximum and (calls < minimum or time.perf_counter() - began < limit):
            index = (first + calls) % len(values)
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                result = worker.function(values[index])
                ok = True
            except BaseException as error:
                ok = False
                failed += 1
                if len(failures) < 20:
                    failures.append({"index": index, "type": describe(error)[0], "message": describe(error)[1]})
            cpus.append(time.thread_time() - cpu)
            walls.append(time.perf_counter() - wall)
            if ok and index not in worker.outputs and len(worker.outputs) < 64:
                try:
                    worker.outputs[index] = (to_json(result), result)
                except (TypeError, ValueError) as error:
                    worker.outputs[index] = (None, None)
                    failures.append(
                        {
                            "index": index,
                            "type": type(error).__name__,
                            "message": "the result (a %s) is not JSON-serialisable: %s" % (type(result).__name__, error),
                        }
                    )
            calls += 1
        run_queue = probes.schedstat()
        usage_after = probes.switches()
        return {
            "walls": walls,
            "cpus": cpus,
            "failures": failures,
            "failed_calls": failed,
            "run_queue_seconds": (run_queue[1] - schedstat[1]) / 1e9 if schedstat and run_queue else None,
            "voluntary_switches": usage_after[0] - usage[0] if usage else None,
            "involuntary_switches": usage_after[1] - usage[1] if usage else None,
        }

    @staticmethod
    def schedstat():
        try:
            with open("/proc/thread-self/schedstat") as file:
                return [int(x) for x in file.read().split()[:2]]
        except (OSError, ValueError):
            return None

    @staticmethod
    def switches():
        try:
            import resource

            usage = resource.getrusage(resource.RUSAGE_THREAD)
            return usage.ru_nvcsw, usage.ru_nivcsw
        except (ImportError, AttributeError, OSError, ValueError):
            return None

    @staticmethod
    def op_scaling(worker, request):
        """Rounds of k calls on one thread, then k calls on each of N threads at once."""
        values = probes.arguments(request)
        threads, rounds, calls = int(request["threads"]), int(request["rounds"]), int(request["calls"])
        limit = float(request.get("seconds", 2.0))
        began = time.perf_counter()
        result = []

        def run(start, count):
            for i in range(count):
                try:
                    worker.function(values[(start + i) % len(values)])
                except BaseException:
                    pass

        for round_index in range(rounds):
            wall, cpu = time.perf_counter(), time.process_time()
            run(round_index, calls)
            single_wall, single_cpu = time.perf_counter() - wall, time.process_time() - cpu
            gate = threading.Barrier(threads + 1)

            def copy(offset):
                gate.wait()
                run(round_index + offset, calls)

            workers = [threading.Thread(target=copy, args=(k,)) for k in range(threads)]
            for thread in workers:
                thread.start()
            wall, cpu = time.perf_counter(), time.process_time()
            gate.wait()
            for thread in workers:
                thread.join()
            result.append(
                {
                    "single_wall": single_wall,
                    "single_cpu": single_cpu,
                    "parallel_wall": time.perf_counter() - wall,
                    "parallel_cpu": time.process_time() - cpu,
                    "calls": calls,
                }
            )
            if time.perf_counter() - began > limit and len(result) >= 2:
                break
        return {"threads": threads, "rounds": result}

    @staticmethod
    def op_pickle(worker, request):
        """What ProcessPoolExecutor would ship: pickled sizes, and dumps plus loads time."""
        values = probes.arguments(request)

        def measure(value):
            started = time.perf_counter()
            data = pickle.dumps(value)
            pickle.loads(data)
            return len(data), time.perf_counter() - started

        inputs = [measure(v) for v in values]
        kept = [pair for pair in worker.outputs.values() if pair[0] is not None]
        outputs = [measure(result) for _, result in kept]
        mean = lambda pairs, k: sum(p[k] for p in pairs) / len(pairs) if pairs else 0.0
        return {
            "input_bytes": mean(inputs, 0),
            "input_seconds": mean(inputs, 1),
            "output_bytes": mean(outputs, 0),
            "output_seconds": mean(outputs, 1),
            "input_json_bytes": sum(len(t.encode("utf-8")) for t in request["inputs"]) / max(1, len(values)),
            "output_json_bytes": sum(len(p[0].encode("utf-8")) for p in kept) / len(kept) if kept else 0.0,
            "values": len(inputs) + len(outputs),
        }

    @staticmethod
    def op_executors(worker, request):
        """Times the function over every input with a plain loop and with Python's own
        executors, each plan as given: {"kind": "loop" | "threads" | "processes" | "split",
        "workers", "chunksize", "fetch_workers"}; the median of the rounds counts. A split runs
        the fetch stage on a ThreadPoolExecutor feeding the compute stage's ProcessPoolExecutor."""
        import warnings
        from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

        warnings.simplefilter("ignore")  # fork() in a threaded process warns on 3.12+
        values = probes.arguments(request)
        function = worker.function
        rounds = max(1, int(request.get("rounds", 1)))
        timings = []
        for plan in request["plans"]:
            kind, workers = plan["kind"], max(1, int(plan.get("workers", 1)))
            times = []
            for _ in range(rounds):
                started = time.perf_counter()
                if kind == "threads":
                    with ThreadPoolExecutor(max_workers=workers) as pool:
                        list(pool.map(function, values))
                elif kind == "processes":
                    with ProcessPoolExecutor(max_workers=workers) as pool:
                        list(pool.map(function, values, chunksize=max(1, int(plan.get("chunksize", 1)))))
                elif kind == "split" and worker.stages:
                    fetch, compute = worker.stages
                    fetchers = max(1, int(plan.get("fetch_workers", 1)))
                    with ThreadPoolExecutor(max_workers=fetchers) as fetching, ProcessPoolExecutor(
                        max_workers=workers
                    ) as computing:
                        list(computing.map(compute, fetching.map(fetch, values)))
                else:
                    for value in values:
                        function(value)
                times.append(time.perf_counter() - started)
            times.sort()
            timings.append(
                {
                    "kind": kind,
                    "workers": workers,
                    "chunksize": plan.get("chunksize", 1),
                    "fetch_workers": plan.get("fetch_workers", 1),
                    "seconds": times[len(times) // 2],
                }
            )
        return {"timings": timings}

    @staticmethod
    def op_calibrate(worker, request):
        """What Python's own executors cost on this interpreter, with empty calls."""
        import warnings
        from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

        warnings.simplefilter("ignore")  # fork() in a threaded process warns on 3.12+
        rounds = int(request.get("rounds", 3))
        cores = max(1, int(request.get("cores", 2)))
        figures = {}

        def best(measure):
            return min(measure() for _ in range(rounds))

        def thread_start():
            started = time.perf_counter()
            for _ in range(100):
                t = threading.Thread(target=_noop)
                t.start()
                t.join()
            return (time.perf_counter() - started) / 100

        figures["thread_start_seconds"] = best(thread_start)
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(_noop).result()

            def dispatch():
                started = time.perf_counter()
                for _ in range(1000):
                    pool.submit(_noop).result()
                return (time.perf_counter() - started) / 1000

            figures["thread_dispatch_seconds"] = best(dispatch)
        with ThreadPoolExecutor(max_workers=cores) as pool:

            def thread_map():
                started = time.perf_counter()
                for _ in pool.map(_noop, range(10000)):
                    pass
                return (time.perf_counter() - started) / 10000

            figures["thread_map_item_seconds"] = best(thread_map)

        def process_start():
            started = time.perf_counter()
            with ProcessPoolExecutor(max_workers=1) as pool:
                pool.submit(_noop).result()
                return time.perf_counter() - started

        figures["process_start_seconds"] = best(process_start)
        with ProcessPoolExecutor(max_workers=1) as pool:
            pool.submit(_noop).result()

            def round_trip():
                started = time.perf_counter()
                for _ in range(200):
                    pool.submit(_noop).result()
                return (time.perf_counter() - started) / 200

            figures["process_round_trip_seconds"] = best(round_trip)
            block = bytes(1 << 20)

            def bandwidth():
                started = time.perf_counter()
                for _ in range(10):
                    pool.submit(_echo, block).result()
                return (time.perf_counter() - started) / (10 * 2 * len(block))

            figures["process_bandwidth_bytes_per_second"] = 1 / best(bandwidth)
        with ProcessPoolExecutor(max_workers=cores) as pool:
            list(pool.map(_noop, range(cores)))
            chunk = max(1, 20000 // (4 * cores))

            def process_map():
                started = time.perf_counter()
                for _ in pool.map(_noop, range(20000), chunksize=chunk):
                    pass
                return (time.perf_counter() - started) / 20000

            figures["process_map_item_seconds"] = best(process_map)
        return figures


def _staged(fetch, compute, value):
    return compute(fetch(value))


def _noop(*_):
    return None


def _echo(value):
    return value


def main():
    global maximum_frame_bytes
    setting = os.environ.get("POOL_ADVISOR_WORKER", "").split(":")
    # Programs the function starts must not take themselves for pool-advisor workers.
    os.environ.pop("POOL_ADVISOR_WORKER", None)
    try:
        maximum_frame_bytes = int(setting[2]) if len(setting) > 2 else 1 << 30
    except ValueError:
        maximum_frame_bytes = 1 << 30
    stream = Stream()
    # ^C reaches the whole process group: the pool decides what an interrupt does.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=stream.watch_for_hang_up, name="pool-advisor-watchdog", daemon=True).start()
    if sys.version_info < (3, 8):
        fatal(stream, "pool-advisor's Python worker needs Python 3.8 or later, not %s" % sys.version.split()[0])
    if not setting or setting[0] != str(PROTOCOL_VERSION):
        fatal(stream, "the pool speaks protocol %r; this Python worker speaks %d" % (setting[0], PROTOCOL_VERSION))
    worker = Worker(stream)
    worker.start()
    worker.serve()


maximum_frame_bytes = 1 << 30

if __name__ == "__main__":
    main()
