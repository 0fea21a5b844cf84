"""Grade submissions safely without docker: the notebook never runs where the tests run.

    python homework/grade.py \\
        homework/dist/hw1-implement-dropout/autograder/hw1-implement-dropout-autograder.zip submissions/hw1/ \\
        homework/dist/hw2-dropout-variants/autograder/hw2-dropout-variants-autograder.zip submissions/hw2/ \\
        --out grades/ --jobs 2 --timeout 600 --memory-gb 4

Arguments come in pairs: an autograder zip built by ``build.py`` and the folder of its
submissions. Every ``*.ipynb`` in a folder (or a student's ``.zip`` export containing one) is
graded in its own scratch folder by two processes (see ``sandbox.py``): the notebook runs in an
untrusted child with a time limit (``--timeout``), a memory limit (``--memory-gb``) and, on
Linux with user namespaces, no network and a read-only file system outside its folder; the
tests, read from the autograder zip, run in a separate trusted interpreter that only receives
data from the child. All assignments share ``--jobs`` workers. For each assignment ``<hw>``
this writes into ``--out``:

* ``<hw>/scores.csv``: ``submission, total, possible, percent, <question>..., error``;
* ``<hw>/reports/<submission>.json``: the full report, with the source and messages of the
  hidden tests: **for instructors only**;
* ``<hw>/feedback/<submission>.txt``: what may go back to the student: the score per question
  and the messages of the *public* checks (which the student's notebook already shows);

plus ``gradebook.csv``, one row per student (the submission's file name without extension) and
one total/possible pair per assignment. A submission that cannot be graded or runs too long gets
a zero with the reason and never stops the batch; progress goes to stderr. Manually graded
questions are not part of the autograder's total. ``--container docker`` (or ``podman``) runs
each grading inside a throw-away container instead (see homework/README.md).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import functools
import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
SANDBOX_PATH = HERE / "sandbox.py"
DEFAULT_TIMEOUT = 600.0
DEFAULT_MEMORY_GB = 4.0
# the scorer gets the notebook's budget and the tests' budget, plus start-up; then it is killed
SCORER_SLACK = 120.0
DEFAULT_IMAGE = "dropoutcourse-grader"


def container_available(runtime: str) -> bool:
    """Whether ``runtime`` (docker or podman) has an engine to talk to, not just a client."""
    if not shutil.which(runtime):
        return False
    try:
        probe = subprocess.run([runtime, "info"], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def _load_sandbox():
    """``sandbox.py`` next to this file, imported once by path (it is also run as a script)."""
    if "homework_sandbox" not in sys.modules:
        spec = importlib.util.spec_from_file_location("homework_sandbox", SANDBOX_PATH)
        module = importlib.util.module_from_spec(spec)
        sys.modules["homework_sandbox"] = module
        spec.loader.exec_module(module)
    return sys.modules["homework_sandbox"]


sandbox = _load_sandbox()


def _notebook_of(path: Path, workdir: Path) -> Path:
    """The notebook to grade, copied into ``workdir`` (from a submission zip if need be)."""
    workdir.mkdir(parents=True, exist_ok=True)
    if path.suffix != ".zip":
        return Path(shutil.copy2(path, workdir / path.name))
    with zipfile.ZipFile(path) as zf:
        names = [n for n in zf.namelist() if n.endswith(".ipynb") and "checkpoint" not in n]
        if len(names) != 1:
            raise ValueError(f"{path.name}: expected one .ipynb in the zip, found {names}")
        target = workdir / Path(names[0]).name
        target.write_bytes(zf.read(names[0]))
        return target


@functools.lru_cache(maxsize=32)
def _autograder(path: Path, mtime: float) -> dict:
    """The zip's tests and checks, read once per batch (``mtime`` invalidates the cache)."""
    return sandbox.read_autograder(path)


def package_path() -> list[str]:
    """Where ``dropoutcourse`` is imported from here: the children import the same copy."""
    spec = importlib.util.find_spec("dropoutcourse")
    if spec is None or spec.origin is None:
        raise SystemExit("the course package dropoutcourse is not installed in this environment")
    return [str(Path(spec.origin).resolve().parents[1])]


CONTAINER_ROOT = "/grade"  # where the scratch folder and sandbox.py appear in a container


def container_command(runtime: str, image: str, name: str, work: Path, memory_gb: float) -> list:
    """``docker``/``podman run`` for the scorer: no network, read-only, the scratch folder only.

    The container runs as the instructor's uid (so it can write the mounted scratch folder)
    with every capability dropped; ``sandbox.py`` is mounted read-only from this checkout, so
    the image needs only Python and the course package (``homework/Containerfile``).
    """
    env = sandbox.clean_env(Path(f"{CONTAINER_ROOT}/work"), [])
    env.pop("PATH", None)  # the image's own
    cmd = [runtime, "run", "--rm", "-i", "--name", name, "--network", "none"]
    cmd += ["--memory", f"{memory_gb:g}g", "--pids-limit", "512", "--read-only"]
    cmd += ["--tmpfs", "/tmp", "--cap-drop", "ALL", "--security-opt", "no-new-privileges"]
    cmd += ["--user", f"{os.getuid()}:{os.getgid()}"] if hasattr(os, "getuid") else []
    cmd += ["-v", f"{work}:{CONTAINER_ROOT}/work", "-w", f"{CONTAINER_ROOT}/work"]
    cmd += ["-v", f"{SANDBOX_PATH}:{CONTAINER_ROOT}/sandbox.py:ro"]
    for key, value in sorted(env.items()):
        cmd += ["-e", f"{key}={value}"]
    return [*cmd, image, "python", f"{CONTAINER_ROOT}/sandbox.py", "score"]


def _in_container(payload: dict) -> dict:
    """The payload with the container's paths (the package comes from the image)."""
    notebook = f"{CONTAINER_ROOT}/work/{Path(payload['notebook']).name}"
    return {**payload, "notebook": notebook, "work": f"{CONTAINER_ROOT}/work", "pythonpath": []}


def run_scorer(
    payload: dict, scratch: Path, timeout: float, container: tuple[str, str] | None = None
) -> dict:
    """Run ``sandbox.py score`` on ``payload`` in ``scratch/score``; its result, or an error.

    ``container``: ``(runtime, image)`` to run it in a throw-away container instead. The
    scorer's process group (or container) is killed when it overruns, so nothing outlives a
    grading.
    """
    home = scratch / "score"
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    env = sandbox.clean_env(home, payload["pythonpath"])
    cmd = [sys.executable, str(SANDBOX_PATH), "score"]
    if container is not None:
        name = f"grade-{payload['nonce'][:12]}"
        cmd = container_command(*container, name, Path(payload["work"]), payload["memory_gb"])
        payload, env = _in_container(payload), {**os.environ}
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=home,
        env=env,
        start_new_session=True,
        text=True,
    )
    try:
        out, err = proc.communicate(json.dumps(payload), timeout=2 * timeout + SCORER_SLACK)
    except subprocess.TimeoutExpired:
        if container is not None:
            subprocess.run([container[0], "kill", name], capture_output=True, check=False)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return {"tests": [], "error": f"timed out after {timeout:g} s"}
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    return _result(out, err, payload["nonce"], proc.returncode)


def _result(out: str, err: str, nonce: str, returncode: int) -> dict:
    """The scorer's result line (it starts with the nonce only grade.py and it know)."""
    line = next((x for x in out.splitlines() if x.startswith(nonce)), None)
    if line is None:
        tail = " | ".join(err.strip().splitlines()[-3:])
        return {"tests": [], "error": f"grader failed ({returncode}): {tail}"}
    return json.loads(line[len(nonce) :])


def grade_one(
    autograder: Path,
    submission: Path,
    reports: Path | None = None,
    feedback: Path | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    memory_gb: float = DEFAULT_MEMORY_GB,
    isolate: bool = True,
    container: tuple[str, str] | None = None,
) -> dict:
    """Grade one submission; return ``{submission, total, possible, percent, q1..., error}``.

    ``reports``: folder for the full instructor report; ``feedback``: folder for the
    student-safe feedback file (both written as ``<submission stem>.json`` / ``.txt``).
    ``timeout`` (seconds) bounds the notebook's run and, again, the tests; ``memory_gb`` the
    child's address space; ``isolate=False`` skips the namespaces (no network, read-only);
    ``container=(runtime, image)`` grades inside a throw-away container.
    """
    autograder = Path(autograder)
    row: dict = {"submission": submission.name}
    with tempfile.TemporaryDirectory(prefix="grade-") as tmp:
        scratch = Path(tmp)  # one scratch folder per submission, removed afterwards
        try:
            notebook = _notebook_of(submission, scratch / "work")
        except (ValueError, zipfile.BadZipFile, OSError) as exc:
            return {**row, "total": 0.0, "possible": None, "error": str(exc)}
        spec = _autograder(autograder.resolve(), autograder.stat().st_mtime)
        payload = {
            "nonce": secrets.token_hex(16),
            "spec": spec,
            "notebook": str(notebook),
            "work": str(scratch / "work"),
            "timeout": float(timeout),
            "memory_gb": float(memory_gb),
            "isolate": isolate,
            "pythonpath": package_path(),
        }
        data = run_scorer(payload, scratch, timeout, container)
    return _finish(row, data, spec, autograder, reports, feedback)


def _finish(row, data, spec, autograder, reports, feedback) -> dict:
    """Scores from the scorer's report; write the report and the feedback file."""
    if reports is not None:
        reports.mkdir(parents=True, exist_ok=True)
        name = Path(row["submission"]).stem
        (reports / f"{name}.json").write_text(json.dumps(data, indent=1), encoding="utf-8")
    total = 0.0
    for test in data.get("tests", []):
        if test.get("max_score") is None:  # the "Public Tests" summary entry
            continue
        row[test["name"]] = float(test.get("score") or 0.0)
        total += row[test["name"]]
    possible = sum(c["points"] for q in spec["questions"] for c in q["cases"])
    if data.get("error"):
        # a timed-out or crashed submission scores nothing, whatever ran before
        row.update({q["name"]: 0.0 for q in spec["questions"]}, error=data["error"])
        total = 0.0
    row.update(
        total=total,
        possible=possible,
        percent=round(100 * total / possible, 1) if possible else 0.0,
    )
    if feedback is not None and not data.get("error"):
        feedback.mkdir(parents=True, exist_ok=True)
        text = student_feedback(data, row, assignment_name(autograder))
        (feedback / f"{Path(row['submission']).stem}.txt").write_text(text, encoding="utf-8")
    return row


def assignment_name(autograder: Path) -> str:
    """``hw1-implement-dropout`` for ``.../hw1-implement-dropout-autograder.zip``."""
    return Path(autograder).name.removesuffix(".zip").removesuffix("-autograder")


_QUESTION = re.compile(r"^(\w+) results:")
_ERROR = re.compile(r"^\s*(\w*(Error|Exception)): (.*)$")


def public_messages(data: dict) -> dict[str, list[str]]:
    """Failure messages of the public checks, per question, from otter's report.

    Only the "Public Tests" entry is read (the checks students run in their notebook); the
    per-question entries, which include the hidden tests' source, never are.
    """
    public = next((t for t in data.get("tests", []) if t.get("name") == "Public Tests"), None)
    messages: dict[str, list[str]] = {}
    question = None
    for line in str((public or {}).get("output", "")).splitlines():
        if m := _QUESTION.match(line.strip()):
            question = m.group(1)
            messages.setdefault(question, [])
        elif (m := _ERROR.match(line)) and question is not None:
            messages[question].append(f"{m.group(1)}: {m.group(3)}")
    return messages


def student_feedback(data: dict, row: dict, assignment: str) -> str:
    """Scores per question and public-check messages; nothing about hidden tests' contents."""
    messages = public_messages(data)
    lines = [
        f"{assignment}: {row['submission']}",
        f"Autograded score: {row['total']:g} / {row['possible']:g} ({row['percent']:g} %)"
        " (manually graded questions come separately)",
        "",
    ]
    for test in data.get("tests", []):
        if test.get("max_score") is None:
            continue
        name, score, most = test["name"], float(test.get("score") or 0), float(test["max_score"])
        lines.append(f"{name}: {score:g} / {most:g}")
        for message in messages.get(name, []):
            lines.append(f"    public check failed: {message}")
        if score < most and not messages.get(name):
            lines.append("    your public checks passed, but hidden tests (more cases) did not")
    return "\n".join(lines) + "\n"


def submissions_in(folder: Path) -> list[Path]:
    """The ``*.ipynb`` / ``*.zip`` files directly inside ``folder``, sorted by name."""
    return sorted(p for p in Path(folder).iterdir() if p.suffix in (".ipynb", ".zip"))


def grade_folder(
    autograder: Path,
    submissions: Path,
    jobs: int = 1,
    reports: Path | None = None,
    feedback: Path | None = None,
    **options,
) -> list[dict]:
    """Grade every ``*.ipynb`` / ``*.zip`` directly inside ``submissions``, sorted by name.

    ``options`` (``timeout``, ``memory_gb``, ``isolate``) go to :func:`grade_one`.
    """
    job = (Path(autograder), Path(submissions), reports, feedback)
    return grade_many([job], jobs, **options)[0]


# reasons a student may read (the others can contain the grader's internals)
STUDENT_REASONS = ("timed out after", "the notebook")


def _error_feedback(autograder: Path, path: Path, error: str) -> str:
    """The feedback file of a submission that scored 0 because it could not be graded."""
    text = f"{assignment_name(autograder)}: {path.name}\n"
    if error.startswith("timed out after"):
        return text + (
            f"Your notebook {error} (the limit for one submission), so it scores 0. Look for a\n"
            "loop that never ends or a much longer computation than asked, then submit again.\n"
        )
    reason = f"Reason: {error}\n" if error.startswith(STUDENT_REASONS) else ""
    return (
        text
        + reason
        + (
            "Your submission could not be graded, so it scores 0 for now. Check that it is\n"
            "the .ipynb saved from JupyterLab (Kernel > Restart and run all, then save) and\n"
            "ask your instructor.\n"
        )
    )


def grade_many(
    assignments: list[tuple[Path, Path, Path | None, Path | None]], jobs: int = 1, **options
) -> list[list[dict]]:
    """Grade several ``(autograder, folder, reports, feedback)`` batches in one worker pool.

    Returns one list of rows per batch, in the batches' order; progress goes to stderr.
    ``options`` go to :func:`grade_one`.
    """
    work = [
        (k, autograder, path, reports, feedback)
        for k, (autograder, folder, reports, feedback) in enumerate(assignments)
        for path in submissions_in(folder)
    ]
    local = options.get("container") is None and options.get("isolate", True)
    if work and local and not sandbox.isolation_available():
        print(
            "notice: user namespaces are unavailable (unshare), so notebooks run WITH network "
            "access and a writable file system; use --container for untrusted submissions",
            file=sys.stderr,
        )
    done: list[str] = []
    lock = threading.Lock()

    def safe(item) -> tuple[int, dict]:
        k, autograder, path, reports, feedback = item
        # one broken submission must never stop the batch: it gets a zero with the reason
        try:
            row = grade_one(autograder, path, reports, feedback, **options)
        except Exception as exc:  # noqa: BLE001
            row = {"submission": path.name, "total": 0.0, "possible": None, "error": repr(exc)}
        if row.get("error") and feedback is not None:
            feedback.mkdir(parents=True, exist_ok=True)
            text = _error_feedback(Path(autograder), path, str(row["error"]))
            (feedback / f"{path.stem}.txt").write_text(text, encoding="utf-8")
        with lock:
            done.append(path.name)
            name = f"{assignment_name(autograder)}/{path.name}"
            print(f"[{len(done)}/{len(work)}] {name}", file=sys.stderr, flush=True)
        return k, row

    results: list[list[dict]] = [[] for _ in assignments]
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        for k, row in pool.map(safe, work):
            results[k].append(row)
    return results


def write_csv(rows: list[dict], out: Path) -> None:
    """One row per submission; question columns in first-seen order."""
    fixed = ["submission", "total", "possible", "percent"]
    questions = [k for row in rows for k in row if k not in fixed and k != "error"]
    columns = fixed + list(dict.fromkeys(questions)) + ["error"]
    with open(out, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def write_gradebook(by_assignment: dict[str, list[dict]], out: Path) -> None:
    """One row per student (submission file name without extension), one pair per assignment."""
    students: dict[str, dict] = {}
    for hw, rows in by_assignment.items():
        for row in rows:
            student = Path(row["submission"]).stem
            entry = students.setdefault(student, {"student": student})
            entry[f"{hw} total"] = row["total"]
            entry[f"{hw} possible"] = row["possible"]
    possible = {
        hw: max((r["possible"] or 0.0 for r in rows), default=0.0)
        for hw, rows in by_assignment.items()
    }
    columns = ["student"]
    for hw in by_assignment:
        columns += [f"{hw} total", f"{hw} possible"]
    columns += ["total", "possible", "percent"]
    for entry in students.values():
        entry["total"] = sum(entry.get(f"{hw} total") or 0.0 for hw in by_assignment)
        # a missing or ungradable submission still counts the assignment's full points
        entry["possible"] = sum(possible.values())
        entry["percent"] = (
            round(100 * entry["total"] / entry["possible"], 1) if entry["possible"] else 0.0
        )
    with open(out, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(sorted(students.values(), key=lambda e: e["student"]))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "pairs",
        nargs="+",
        type=Path,
        metavar="AUTOGRADER SUBMISSIONS",
        help="pairs of <hw>-autograder.zip (built by build.py) and the folder of its submissions",
    )
    parser.add_argument("--out", type=Path, default=Path("grades"), help="output folder")
    parser.add_argument("--jobs", type=int, default=1, help="submissions graded in parallel")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help="seconds a notebook may run, and again its tests (default %(default)g); "
        "longer scores 0 with the reason",
    )
    parser.add_argument(
        "--memory-gb",
        type=float,
        default=DEFAULT_MEMORY_GB,
        help="address-space limit of a running notebook, in GB (default %(default)g)",
    )
    parser.add_argument(
        "--no-isolation",
        action="store_true",
        help="do not put notebooks in their own network/mount/pid namespaces",
    )
    parser.add_argument(
        "--container",
        choices=["docker", "podman"],
        help="grade each submission in a throw-away container of --image (no network, "
        "read-only, dropped capabilities)",
    )
    parser.add_argument(
        "--image",
        default=DEFAULT_IMAGE,
        help="image for --container, built from homework/Containerfile (default %(default)s)",
    )
    return parser


def _options(args: argparse.Namespace, parser: argparse.ArgumentParser) -> dict:
    """grade_one's options from the command line, each checked with an error naming it."""
    if not args.timeout > 0:
        parser.error(f"--timeout must be a positive number of seconds, got {args.timeout}")
    if not args.memory_gb > 0:
        parser.error(f"--memory-gb must be a positive number, got {args.memory_gb}")
    options = dict(timeout=args.timeout, memory_gb=args.memory_gb, isolate=not args.no_isolation)
    if args.container:
        if not container_available(args.container):
            parser.error(f"--container {args.container}: no running {args.container} engine found")
        options["container"] = (args.container, args.image)
    return options


def main(argv: list[str] | None = None) -> int:
    """Grade AUTOGRADER SUBMISSIONS pairs; write scores, reports, feedback and the gradebook."""
    parser = _parser()
    args = parser.parse_args(argv)
    if len(args.pairs) % 2:
        parser.error("give AUTOGRADER SUBMISSIONS pairs (an autograder zip, then its folder)")
    if args.jobs < 1:
        parser.error(f"--jobs must be a positive integer, got {args.jobs}")
    options = _options(args, parser)
    pairs = list(zip(args.pairs[::2], args.pairs[1::2], strict=True))
    batches = []
    for autograder, folder in pairs:
        if not autograder.is_file() or autograder.suffix != ".zip":
            parser.error(f"autograder zip {autograder} not found; run `make homework` first")
        if not folder.is_dir():
            parser.error(f"submissions folder {folder} not found")
        # one folder per assignment: same-named students of two homeworks never collide
        hw = args.out / assignment_name(autograder)
        batches.append((autograder, folder, hw / "reports", hw / "feedback"))
    names = [assignment_name(a) for a, _ in pairs]
    if len(set(names)) != len(names):
        parser.error(f"an assignment is given twice: {names}")
    results = grade_many(batches, args.jobs, **options)
    for hw, rows in zip(names, results, strict=True):
        (args.out / hw).mkdir(parents=True, exist_ok=True)
        write_csv(rows, args.out / hw / "scores.csv")
        for row in rows:
            status = row.get("error") or f"{row['total']:g} / {row['possible']:g}"
            print(f"{hw}/{row['submission']}: {status}")
    write_gradebook(dict(zip(names, results, strict=True)), args.out / "gradebook.csv")
    print(
        f"wrote {args.out}/<hw>/scores.csv, reports/ (instructors only), feedback/ (for "
        f"students) and {args.out / 'gradebook.csv'}"
    )
    return 0 if all("error" not in r for rows in results for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
