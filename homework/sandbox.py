"""Run one homework submission where it cannot touch its own grading, then score it.

``grade.py`` starts, per submission, ``python sandbox.py score`` (the *scorer*, trusted) in a
fresh scratch folder with a clean environment. The scorer starts ``python sandbox.py child``
(the *child*, untrusted) and talks to it through two pipes:

* the child runs the submitted notebook's code cells (IPython, ``otter`` replaced by a stub) in
  its own folder, under a time limit, ``RLIMIT_AS`` and, where Linux user namespaces allow,
  without network, without seeing other processes and with every file system read-only except
  its folder. Then it only answers requests: the value of a notebook name as plain data, or the
  result of calling a notebook function (or a method of an object it returned) with plain-data
  arguments;
* the scorer loads the tests (otter's ``tests/*.py``), the master's imports and the check module
  from the autograder zip (passed in by ``grade.py``, never read from the submission), and runs
  every test case itself in a namespace made of the master's imports and the child's answers.

No notebook code ever runs in the scorer: what a notebook patches (``runpy``, ``sys.modules``,
``builtins.__import__``, NumPy's comparisons, ``otter``) exists only in the child, which can
change nothing but the values its own functions return. Values cross as JSON with typed
records (numbers, strings, lists, tuples, dicts, NumPy arrays without objects, pandas frames,
dataclasses of the course package, NumPy generators, Matplotlib axes); nothing is unpickled.
Anything else stays in the child and is reached through a :class:`Remote` handle.
"""

from __future__ import annotations

import ast
import base64
import builtins
import contextlib
import dataclasses
import importlib
import io
import json
import os
import select
import shutil
import subprocess
import sys
import time
import traceback
import types
from pathlib import Path

PACKAGE = "dropoutcourse"
MAX_MESSAGE = 512 * 2**20  # one request or answer; more means a broken or hostile child
MAX_DEPTH = 32
BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")
ARRAY_KINDS = "biufcmMSU"  # no objects, no structured/void records
# namespaces that need user namespaces; the child gets them when this probe succeeds
UNSHARE = [
    "unshare",
    "--user",
    "--map-root-user",
    "--net",
    "--mount",
    "--pid",
    "--fork",
    "--kill-child",
    "--mount-proc",
]
PASS_ENV = ("PATH", "LANG", "LC_ALL", "TF_CPP_MIN_LOG_LEVEL", "SYSTEMROOT")
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


# ---------------------------------------------------------------------------------- the codec


def _array(value) -> dict:
    import numpy as np

    a = np.asarray(value)  # 0-d stays 0-d; tobytes() is C order whatever the layout
    if a.dtype.hasobject or a.dtype.kind not in ARRAY_KINDS:
        raise TypeError(f"arrays of dtype {a.dtype} cannot be passed")
    data = base64.b64encode(a.tobytes()).decode("ascii")
    return {"$": "ndarray", "dtype": a.dtype.str, "shape": list(a.shape), "data": data}


def _frame(value) -> dict:
    columns = [value.iloc[:, i] for i in range(value.shape[1])]
    return {
        "$": "dataframe",
        "columns": [encode(c) for c in value.columns],
        "data": [_column(c) for c in columns],
        "index": _column(value.index.to_series()),
        "index_name": encode(value.index.name),
    }


def _column(series) -> object:
    values = series.to_numpy()
    if values.dtype.hasobject or values.dtype.kind not in ARRAY_KINDS:
        return {"$": "list", "items": [encode(v) for v in values.tolist()]}
    return _array(values)


def _axes(ax) -> dict:
    import numpy as np
    from matplotlib.container import ErrorbarContainer

    lines = []
    for line in ax.get_lines():
        with contextlib.suppress(TypeError, ValueError):
            xy = (np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float))
            lines.append([_array(xy[0]), _array(xy[1])])
    bars = [
        {
            "has_xerr": bool(c.has_xerr),
            "has_yerr": bool(c.has_yerr),
            "segments": [
                [_array(np.asarray(s, float)) for s in col.get_segments()] for col in c.lines[2]
            ],
        }
        for c in ax.containers
        if isinstance(c, ErrorbarContainer)
    ]
    labels = {k: str(getattr(ax, f"get_{k}")()) for k in ("xlabel", "ylabel", "title")}
    return {"$": "axes", **labels, "lines": lines, "errorbars": bars}


def encode(value: object, handles: list | None = None, depth: int = 0) -> object:
    """``value`` as JSON-ready data; what has no data form becomes a handle into ``handles``."""
    if depth > MAX_DEPTH:
        raise TypeError("nested too deeply")
    if value is None or isinstance(value, bool | str) or type(value) in (int, float):
        return value
    if isinstance(value, Remote):  # the scorer hands a notebook object back to the notebook
        return {"$": "remote", "handle": value._handle, "type": value._kind}
    again = lambda v: encode(v, handles, depth + 1)  # noqa: E731
    if type(value) in (list, tuple, set, frozenset):
        kind = {list: "list", tuple: "tuple", set: "set", frozenset: "set"}[type(value)]
        return {"$": kind, "items": [again(v) for v in value]}
    if type(value) is dict:
        return {"$": "dict", "items": [[again(k), again(v)] for k, v in value.items()]}
    try:
        return _special(value, again)
    except (TypeError, ValueError, AttributeError, IndexError):
        if handles is None:
            raise TypeError(f"a {type(value).__name__} cannot be passed to the notebook") from None
    handles.append(value)
    return {"$": "remote", "handle": len(handles) - 1, "type": type(value).__name__}


def _special(value: object, again) -> dict:
    """NumPy, pandas, dataclass and Matplotlib values (TypeError for anything else)."""
    np = sys.modules.get("numpy")
    pd = sys.modules.get("pandas")
    if np is not None and isinstance(value, np.ndarray | np.generic):
        return {**_array(value), "scalar": isinstance(value, np.generic)}
    if np is not None and isinstance(value, np.random.Generator):
        name = type(value.bit_generator).__name__
        return {"$": "rng", "bit_generator": name, "state": again(value.bit_generator.state)}
    if pd is not None and isinstance(value, pd.DataFrame):
        return _frame(value)
    if pd is not None and isinstance(value, pd.Series):
        index = _column(value.index.to_series())
        return {"$": "series", "data": _column(value), "index": index, "name": again(value.name)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        fields = {
            f.name: again(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init
        }
        return {
            "$": "dataclass",
            "module": cls.__module__,
            "name": cls.__qualname__,
            "fields": fields,
        }
    axes = sys.modules.get("matplotlib.axes")
    if axes is not None and isinstance(value, axes.Axes):
        return _axes(value)
    raise TypeError(type(value).__name__)


def decode(obj: object, remote=None, depth: int = 0) -> object:
    """Inverse of :func:`encode`; ``remote(handle, type)`` makes the handles' stand-ins.

    Only the records above are understood: anything else raises ``ValueError``, so a hostile
    child can send nothing but data.
    """
    if depth > MAX_DEPTH:
        raise ValueError("nested too deeply")
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    if not isinstance(obj, dict):
        raise ValueError(f"unexpected {type(obj).__name__}")
    again = lambda v: decode(v, remote, depth + 1)  # noqa: E731
    tag, items = obj.get("$"), obj.get("items")
    if tag in ("list", "tuple", "set") and isinstance(items, list):
        values = [again(v) for v in items]
        return {"list": list, "tuple": tuple, "set": set}[tag](values)
    if tag == "dict" and isinstance(items, list):
        return {again(k): again(v) for k, v in items}
    if tag == "remote" and remote is not None:
        return remote(int(obj["handle"]), str(obj.get("type", "object")))
    decoder = _DECODERS.get(tag)
    if decoder is None:
        raise ValueError(f"unknown record {tag!r}")
    return decoder(obj, again)


def _decode_array(obj: dict, again=None):
    import numpy as np

    dtype = np.dtype(str(obj["dtype"]))
    if dtype.hasobject or dtype.kind not in ARRAY_KINDS:
        raise ValueError(f"dtype {dtype} is not allowed")
    shape = tuple(int(n) for n in obj["shape"])
    data = base64.b64decode(str(obj["data"]).encode("ascii"), validate=True)
    a = np.frombuffer(data, dtype=dtype).reshape(shape).copy()
    return a[()] if obj.get("scalar") else a


def _decode_rng(obj: dict, again):
    import numpy as np

    name = str(obj["bit_generator"])
    if name not in BIT_GENERATORS:
        raise ValueError(f"bit generator {name!r} is not allowed")
    bit_generator = getattr(np.random, name)()
    bit_generator.state = again(obj["state"])
    return np.random.Generator(bit_generator)


def _decode_column(obj: object, again):
    import numpy as np

    value = again(obj)
    return np.array(value, dtype=object) if isinstance(value, list) else value


def _decode_frame(obj: dict, again):
    import pandas as pd

    columns = [_decode_column(c, again) for c in obj["data"]]
    frame = pd.DataFrame(dict(enumerate(columns)), index=_decode_column(obj["index"], again))
    frame.columns = [again(c) for c in obj["columns"]]
    frame.index.name = again(obj["index_name"])
    return frame


def _decode_series(obj: dict, again):
    import pandas as pd

    index = _decode_column(obj["index"], again)
    return pd.Series(_decode_column(obj["data"], again), index=index, name=again(obj["name"]))


def _decode_dataclass(obj: dict, again):
    module, name = str(obj["module"]), str(obj["name"])
    # only the course package's own dataclasses are rebuilt; their fields are plain data
    if not (module == PACKAGE or module.startswith(PACKAGE + ".")) or "." in name:
        raise ValueError(f"{module}.{name} is not a dataclass of {PACKAGE}")
    cls = getattr(importlib.import_module(module), name)
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise ValueError(f"{module}.{name} is not a dataclass")
    return cls(**{str(k): again(v) for k, v in obj["fields"].items()})


def _decode_axes(obj: dict, again):
    """A Matplotlib ``Axes`` with the child's labels, lines and error bars (nothing else)."""
    import numpy as np
    from matplotlib.collections import LineCollection
    from matplotlib.container import ErrorbarContainer
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    ax = Figure().add_subplot()
    ax.set_xlabel(str(obj["xlabel"]))
    ax.set_ylabel(str(obj["ylabel"]))
    ax.set_title(str(obj["title"]))
    for x, y in obj["lines"]:
        ax.add_line(Line2D(_decode_array(x), _decode_array(y)))
    for bar in obj["errorbars"]:
        cols = tuple(
            LineCollection([np.asarray(_decode_array(s), float) for s in segments])
            for segments in bar["segments"]
        )
        has = dict(has_xerr=bool(bar["has_xerr"]), has_yerr=bool(bar["has_yerr"]))
        ax.add_container(ErrorbarContainer((None, (), cols), **has))
    return ax


_DECODERS = {
    "ndarray": _decode_array,
    "rng": _decode_rng,
    "dataframe": _decode_frame,
    "series": _decode_series,
    "dataclass": _decode_dataclass,
    "axes": _decode_axes,
}


# ------------------------------------------------------------------------- pipes with deadlines


class Timeout(BaseException):  # noqa: N818 -- a BaseException: no test's `except` can swallow it
    """The submission used up its time."""


class Channel:
    """Newline-delimited JSON over a child's stdin/stdout, every read and write with a deadline."""

    def __init__(self, proc: subprocess.Popen, deadline: float) -> None:
        self.proc, self.deadline, self.buffer = proc, deadline, b""
        os.set_blocking(proc.stdin.fileno(), False)

    def send(self, message: dict) -> None:
        data = memoryview((json.dumps(message) + "\n").encode())
        fd = self.proc.stdin.fileno()
        while data:
            if not select.select([], [fd], [], self._left())[1]:
                raise Timeout
            try:
                data = data[os.write(fd, data[: 1 << 16]) :]
            except BrokenPipeError:
                raise NotebookProcessError("the notebook's process has stopped") from None

    def receive(self) -> dict:
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buffer:
            if not select.select([fd], [], [], self._left())[0]:
                raise Timeout
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise NotebookProcessError("the notebook's process has stopped")
            self.buffer += chunk
            if len(self.buffer) > MAX_MESSAGE:
                raise NotebookProcessError("the notebook sent more data than allowed")
        line, self.buffer = self.buffer.split(b"\n", 1)
        try:
            message = json.loads(line)
        except ValueError:
            raise NotebookProcessError("the notebook's answer could not be read") from None
        if not isinstance(message, dict):
            raise NotebookProcessError("the notebook's answer could not be read")
        return message

    def _left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise Timeout
        return left


class NotebookProcessError(AssertionError):
    """The child died or answered nonsense: the test that needed it fails."""


class Remote:
    """A notebook object that stays in the child: call it, or read its attributes."""

    def __init__(self, channel: Channel, handle: int, kind: str, name: str = "") -> None:
        self._channel, self._handle, self._kind, self._name = channel, handle, kind, name

    def _ask(self, request: dict) -> object:
        self._channel.send({**request, "handle": self._handle})
        answer = self._channel.receive()
        if "raised" in answer:
            kind, message = (list(answer["raised"]) + ["", ""])[:2]
            error = getattr(builtins, kind, None) if isinstance(kind, str) else None
            if not (isinstance(error, type) and issubclass(error, Exception)):
                error = RuntimeError
            raise error(f"{message}" if error is not RuntimeError else f"{kind}: {message}")
        try:
            return decode(answer.get("value"), self._make)
        except (ValueError, TypeError, KeyError) as exc:
            raise NotebookProcessError(f"the notebook's answer could not be read: {exc}") from None

    def _make(self, handle: int, kind: str) -> Remote:
        return Remote(self._channel, handle, kind)

    def __call__(self, *args, **kwargs) -> object:
        encoded = [encode(a) for a in args]
        return self._ask({"op": "call", "args": encoded, "kwargs": encode(kwargs)})

    def __getattr__(self, attr: str) -> object:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return self._ask({"op": "getattr", "name": attr})

    def __repr__(self) -> str:
        return f"<notebook {self._kind} {self._name}>".replace(" >", ">")


class Unreadable:
    """Stand-in for a notebook name whose value could not be read; any use fails the test."""

    def __init__(self, name: str, why: str) -> None:
        self._why = f"{name} could not be read from your notebook: {why}"

    def __getattr__(self, attr: str):
        raise AssertionError(self._why)

    def __call__(self, *args, **kwargs):
        raise AssertionError(self._why)

    def __repr__(self) -> str:
        return f"<{self._why}>"


# ------------------------------------------------------------------------- the child (untrusted)


def _read_only_mounts(work: Path) -> list[str]:
    """Make every file system read-only except ``work`` (inside a private mount namespace).

    Runs before any notebook code, as the user namespace's root; returns what failed.
    """
    failed = []
    run = lambda *a: subprocess.run(["mount", *a], capture_output=True).returncode  # noqa: E731
    if run("--bind", str(work), str(work)):
        return ["bind mount of the work folder"]
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if not point.startswith(("/proc", "/sys", "/dev")) and Path(point) != work:
            points.append(point)
    for point in points:
        if run("-o", "remount,bind,ro", point):
            failed.append(point)
    return failed


class _Otter(types.ModuleType):
    """Stands in for ``otter`` while the notebook runs: ``grader.check(...)`` does nothing."""

    class Notebook:
        def __init__(self, *args, **kwargs) -> None:
            pass

        def __getattr__(self, name: str):
            return lambda *args, **kwargs: None


def _cells(notebook: Path) -> list[str]:
    """The code cells of a notebook file, as source strings (empty list when unreadable)."""
    try:
        nb = json.loads(notebook.read_text(encoding="utf-8"))
        cells = nb["cells"] if isinstance(nb, dict) else []
    except (OSError, ValueError, KeyError):
        return []
    sources = []
    for cell in cells:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            sources.append("".join(source) if isinstance(source, list) else str(source))
    return sources


def _run_notebook(cells: list[str]) -> tuple[dict, list[str]]:
    """Run the cells in one IPython namespace, going on after errors; (namespace, errors)."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    shell = InteractiveShell.instance(config=config)
    errors = []
    for k, source in enumerate(cells):
        result = shell.run_cell(source, store_history=False)
        error = result.error_before_exec or result.error_in_exec
        if error is not None:
            errors.append(f"cell {k + 1}: {type(error).__name__}: {str(error)[:200]}")
    return shell.user_ns, errors


def _serve(namespace: dict, requests, answers) -> None:
    """Answer the scorer's requests until it closes the pipe."""
    handles: list = []
    for line in requests:
        try:
            request = json.loads(line)
            answer = {"value": encode(_perform(request, namespace, handles), handles)}
        except BaseException as exc:  # noqa: BLE001 -- whatever the notebook raises is an answer
            answer = {"raised": [type(exc).__name__, str(exc)[:2000]]}
        try:
            text = json.dumps(answer)
        except (TypeError, ValueError) as exc:
            text = json.dumps({"raised": ["TypeError", f"answer not serialisable: {exc}"]})
        answers.write(text + "\n")
        answers.flush()


def _perform(request: dict, namespace: dict, handles: list) -> object:
    op = request.get("op")
    if op == "get":
        name = str(request["name"])
        if name not in namespace:
            raise NameError(f"name {name!r} is not defined")
        return namespace[name]
    target = handles[int(request["handle"])]
    remote = lambda h, kind: handles[h]  # noqa: E731 -- the scorer passes back our own handles
    if op == "call":
        args = [decode(a, remote) for a in request["args"]]
        kwargs = decode(request["kwargs"], remote)
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return target(*args, **kwargs)
    if op == "getattr":
        return getattr(target, str(request["name"]))
    raise ValueError(f"unknown request {op!r}")


def child_main(notebook: Path, work: Path, isolated: bool) -> None:
    """Run ``notebook`` in ``work``, report ``ready``, then serve requests on stdin/stdout."""
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    requests = os.fdopen(os.dup(0), "r", encoding="utf-8")
    failed = _read_only_mounts(work) if isolated else []
    # the notebook's own output goes nowhere: only this process's answers use the pipe
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115
    sys.stdout = sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    os.chdir(work)
    sys.modules["otter"] = _Otter("otter")
    namespace, errors = _run_notebook(_cells(notebook))
    answers.write(json.dumps({"ready": {"errors": errors, "mount_failures": failed}}) + "\n")
    answers.flush()
    _serve(namespace, requests, answers)
    os._exit(0)  # skip interpreter clean-up that notebook code may have booby-trapped


# ---------------------------------------------------------------------------- the autograder


def read_autograder(path: Path) -> dict:
    """Questions, test cases, points, the master's imports and the check module of a zip.

    ``{"assignment", "questions": [{"name", "cases": [{"code", "hidden", "points"}]}],
    "imports", "checks"}``. Test files are read with ``ast.literal_eval``; nothing is executed.
    """
    import zipfile

    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        tests = sorted(n for n in names if n.startswith("tests/") and n.endswith(".py"))
        questions = [_question(zf.read(n).decode("utf-8")) for n in tests]
        spec = json.loads(zf.read("grading.json")) if "grading.json" in names else None
        checks = "files/hw_checks.py"
        checks = zf.read(checks).decode("utf-8") if checks in names else ""
    if spec is None:
        raise ValueError(f"{path}: no grading.json; rebuild the autograder with build.py")
    questions.sort(key=lambda q: _natural(q["name"]))
    return {**spec, "questions": questions, "checks": checks}


def _natural(name: str) -> tuple:
    digits = "".join(c for c in name if c.isdigit())
    return (name.rstrip("0123456789"), int(digits) if digits else 0, name)


def _question(source: str) -> dict:
    """One otter test file (``test = {...}``) as ``{"name", "cases"}``."""
    tree = ast.parse(source)
    value = next(
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and any(getattr(t, "id", "") == "test" for t in node.targets)
    )
    test = ast.literal_eval(value)
    cases = [c for suite in test["suites"] for c in suite["cases"]]
    points = test.get("points")
    if not isinstance(points, list):
        total = 1.0 if points is None else float(points)
        points = [total / len(cases)] * len(cases)
    return {
        "name": test["name"],
        "cases": [
            {"code": _undoctest(c["code"]), "hidden": bool(c.get("hidden")), "points": float(p)}
            for c, p in zip(cases, points, strict=True)
        ],
    }


def _undoctest(code: str) -> str:
    lines = []
    for line in code.split("\n"):
        if line.startswith((">>> ", "... ")):
            lines.append(line[4:])
        elif line.rstrip() in (">>>", "..."):
            lines.append("")
    return "\n".join(lines)


# ------------------------------------------------------------------------ the scorer (trusted)


def clean_env(home: Path, pythonpath: list[str]) -> dict[str, str]:
    """A minimal environment: no secrets of the instructor's, quiet TF, Agg, fixed hash seed."""
    env = {k: os.environ[k] for k in PASS_ENV + THREAD_ENV if k in os.environ}
    env.update(
        HOME=str(home),
        TMPDIR=str(home / "tmp"),
        MPLBACKEND="Agg",
        MPLCONFIGDIR=str(home / ".matplotlib"),
        IPYTHONDIR=str(home / ".ipython"),
        PYTHONHASHSEED="0",
        PYTHONNOUSERSITE="1",
        PYTHONSAFEPATH="1",
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONPATH=os.pathsep.join(pythonpath),
        TF_CPP_MIN_LOG_LEVEL="3",
    )
    return env


_PROBE: dict[str, bool] = {}


def isolation_available() -> bool:
    """Whether ``unshare`` can give the child its own user, network, mount and pid namespaces."""
    if "ok" not in _PROBE:
        ok = sys.platform.startswith("linux") and bool(shutil.which("unshare"))
        ok = ok and bool(shutil.which("mount"))
        if ok:
            probe = UNSHARE + ["mount", "-o", "remount,bind,ro", "/"]
            try:
                ok = subprocess.run(probe, capture_output=True, timeout=30).returncode == 0
            except (OSError, subprocess.TimeoutExpired):
                ok = False
        _PROBE["ok"] = ok
    return _PROBE["ok"]


def _limits(memory_bytes: int, cpu_seconds: int) -> None:
    """In the child before exec: memory and CPU ceilings, no core files, die with the scorer."""
    import resource
    import signal

    for limit, value in (
        (resource.RLIMIT_AS, memory_bytes),
        (resource.RLIMIT_CPU, cpu_seconds),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_FSIZE, 4 * 2**30),
    ):
        with contextlib.suppress(ValueError, OSError):
            soft, hard = resource.getrlimit(limit)
            value = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(limit, (value, value))
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def start_child(payload: dict) -> tuple[subprocess.Popen, bool]:
    """Start the child on the submission; returns it and whether it is isolated."""
    import functools

    work = Path(payload["work"])
    env = clean_env(work, payload["pythonpath"])
    (work / "tmp").mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "child"]
    cmd += ["--notebook", str(payload["notebook"]), "--work", str(work)]
    isolated = bool(payload.get("isolate", True)) and isolation_available()
    if isolated:
        cmd = [*UNSHARE, *cmd, "--isolated"]
    memory = int(float(payload["memory_gb"]) * 2**30)
    limits = functools.partial(_limits, memory, int(2 * payload["timeout"] + 30))
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=work,
        env=env,
        preexec_fn=limits,  # noqa: PLW1509 -- the scorer has a single thread
    )
    return proc, isolated


def free_names(code: str) -> set[str]:
    """Global names a test case's code loads (compiled, not run)."""
    import dis

    names: set[str] = set()
    todo = [compile(code, "<test>", "exec")]
    while todo:
        c = todo.pop()
        names |= {
            i.argval for i in dis.get_instructions(c) if i.opname in ("LOAD_GLOBAL", "LOAD_NAME")
        }
        todo += [k for k in c.co_consts if isinstance(k, types.CodeType)]
    # `globals` is a builtin, kept here: a test that reads globals() needs every notebook name
    return {n for n in names if isinstance(n, str) and (n == "globals" or not hasattr(builtins, n))}


def run_case(code: str, namespace: dict, chk: types.SimpleNamespace) -> str | None:
    """Run one test case in ``namespace``; ``None`` when it passes, else the failure message.

    A case that defines ``_test(chk)`` is run by calling it (the trailing line that loads
    ``hw_checks.py`` in the student's notebook is skipped); any other case runs as it is.
    """
    tree = ast.parse(code)
    if any(isinstance(n, ast.FunctionDef) and n.name == "_test" for n in tree.body):
        tree.body = [n for n in tree.body if not isinstance(n, ast.Expr)]
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            exec(compile(tree, "<test>", "exec"), namespace)  # noqa: S102 -- the autograder's test
            test = namespace.get("_test")
            if callable(test):
                test(chk) if test.__code__.co_argcount else test()
    except Exception as exc:  # noqa: BLE001 -- a failing test, whatever it raised
        return f"{type(exc).__name__}: {exc}"
    return None


def _checks(source: str, cells: list[str]) -> types.SimpleNamespace:
    """The autograder's check module, with ``own`` checking the notebook's source text."""
    module = types.ModuleType("hw_checks")
    module.__file__ = "hw_checks.py"
    if source:
        exec(compile(source, "hw_checks.py", "exec"), module.__dict__)  # noqa: S102
    chk = types.SimpleNamespace(**{k: v for k, v in vars(module).items() if not k.startswith("_")})
    if hasattr(chk, "own_static"):
        chk.own = lambda f, name: module.own_static(cells, f, name)
        chk.patched_reference = lambda: module.static_patches(cells)
    return chk


def _fetch(channel: Channel, names: set[str]) -> dict[str, object]:
    """Each notebook name's answer (raw JSON) from the child; names it lacks are left out."""
    raw = {}
    for name in sorted(names):
        channel.send({"op": "get", "name": name})
        answer = channel.receive()
        if "value" in answer:
            raw[name] = answer["value"]
        elif answer.get("raised", [""])[0] != "NameError":
            raw[name] = {"$": "unreadable", "why": str(answer.get("raised"))[:300]}
    return raw


def _namespace(base: dict, raw: dict, channel: Channel) -> dict:
    """A test's globals: the master's imports, then the notebook's values, decoded afresh."""
    namespace = dict(base)
    for name, value in raw.items():
        if name in base:
            continue  # names the master imports are the grader's own, whatever the notebook did

        def remote(handle: int, kind: str, name: str = name) -> Remote:
            return Remote(channel, handle, kind, name)

        try:
            if isinstance(value, dict) and value.get("$") == "unreadable":
                raise ValueError(value.get("why"))
            namespace[name] = decode(value, remote)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            namespace[name] = Unreadable(name, str(exc)[:300])
    return namespace


def _report(questions: list[dict], results: list[list[str | None]]) -> list[dict]:
    """otter-like report entries: "Public Tests", then one entry per question."""
    public, entries = [], []
    for question, outcome in zip(questions, results, strict=True):
        name, lines, score = question["name"], [], 0.0
        failed_public = []
        for k, (case, message) in enumerate(zip(question["cases"], outcome, strict=True), 1):
            if message is None:
                score += case["points"]
                continue
            kind = "hidden" if case["hidden"] else "public"
            lines.append(f"{name} - {k} ({kind}) failed:\n{case['code']}\n    {message}\n")
            if not case["hidden"]:
                failed_public.append(
                    f"    {name} - {k} result:\n        ❌ Test case failed\n        {message}"
                )
        public.append(
            f"{name} results:"
            + ("\n" + "\n".join(failed_public) if failed_public else " All test cases passed!")
        )
        entries.append(
            {
                "name": name,
                "score": round(score, 6),
                "max_score": round(sum(c["points"] for c in question["cases"]), 6),
                "visibility": "hidden",
                "output": "\n".join(lines) or "All test cases passed!",
            }
        )
    return [
        {"name": "Public Tests", "visibility": "visible", "output": "\n\n".join(public)},
        *entries,
    ]


def score(payload: dict) -> dict:
    """Run the submission in a child and every test here; ``{"tests", "error", "notes"}``."""
    spec, timeout = payload["spec"], float(payload["timeout"])
    cells = _cells(Path(payload["notebook"]))
    proc, isolated = start_child(payload)
    channel = Channel(proc, time.monotonic() + timeout)  # the notebook's run starts now
    notes = [] if isolated else ["no network/file-system isolation (unshare unavailable)"]
    try:
        base = {"__name__": "__main__", "__builtins__": builtins}
        exec(compile(spec.get("imports", ""), "<master imports>", "exec"), base)  # noqa: S102
        chk = _checks(spec.get("checks", ""), cells)
        ready = channel.receive().get("ready")
        if not isinstance(ready, dict):
            raise NotebookProcessError("the notebook did not start")
        notes += [f"notebook error in {e}" for e in ready.get("errors", [])][:20]
        channel.deadline = time.monotonic() + timeout  # the tests get their own budget
        codes = [c["code"] for q in spec["questions"] for c in q["cases"]]
        names = set().union(*map(free_names, codes)) if codes else set()
        if "globals" in names:
            names |= set(_bindings_of(cells))
        raw = _fetch(channel, names - set(base))
        results = [
            [run_case(c["code"], _namespace(base, raw, channel), chk) for c in q["cases"]]
            for q in spec["questions"]
        ]
        return {"tests": _report(spec["questions"], results), "error": None, "notes": notes}
    except Timeout:
        return {
            "tests": _report(spec["questions"], _failed(spec, "timed out")),
            "notes": notes,
            "error": f"timed out after {timeout:g} s",
        }
    except NotebookProcessError as exc:
        return {
            "tests": _report(spec["questions"], _failed(spec, str(exc))),
            "notes": notes,
            "error": f"{exc} (exit code {proc.poll()})",
        }
    finally:
        _stop(proc)


def _bindings_of(cells: list[str]) -> list[str]:
    names = []
    for source in cells:
        with contextlib.suppress(SyntaxError):
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    names.append(node.id)
                elif isinstance(node, ast.FunctionDef | ast.ClassDef):
                    names.append(node.name)
    return names


def _failed(spec: dict, why: str) -> list[list[str]]:
    return [[why] * len(q["cases"]) for q in spec["questions"]]


def _stop(proc: subprocess.Popen) -> None:
    with contextlib.suppress(OSError):
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)
    for pipe in (proc.stdin, proc.stdout):
        with contextlib.suppress(OSError):
            pipe.close()


def score_main() -> None:
    """``sandbox.py score``: the payload comes on stdin, one result line goes to stdout.

    The line starts with the payload's nonce, which only ``grade.py`` and this process know.
    """
    payload = json.loads(sys.stdin.read())
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)
    sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    try:
        result = score(payload)
    except Exception:  # noqa: BLE001 -- reported to grade.py, which gives a zero with the reason
        result = {"tests": [], "error": "grader error: " + traceback.format_exc(limit=3)[-800:]}
    out.write(payload["nonce"] + json.dumps(result) + "\n")
    out.flush()


def main(argv: list[str] | None = None) -> None:
    """``sandbox.py score`` (trusted) or ``sandbox.py child --notebook NB --work DIR``."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("role", choices=["score", "child"])
    parser.add_argument("--notebook", type=Path)
    parser.add_argument("--work", type=Path)
    parser.add_argument("--isolated", action="store_true")
    args = parser.parse_args(argv)
    if args.role == "score":
        score_main()
    else:
        child_main(args.notebook, args.work, args.isolated)


if __name__ == "__main__":
    main()
