"""Grade submissions locally with ``otter run`` (no docker needed): scores, reports, feedback.

    python homework/grade.py \\
        homework/dist/hw1-implement-dropout/autograder/hw1-implement-dropout-autograder.zip submissions/hw1/ \\
        homework/dist/hw2-dropout-variants/autograder/hw2-dropout-variants-autograder.zip submissions/hw2/ \\
        --out grades/ --jobs 2

Arguments come in pairs: an autograder zip built by ``build.py`` and the folder of its
submissions. Every ``*.ipynb`` in a folder (or a student's ``.zip`` export containing one) is run
through ``otter run`` in the current environment, one process per submission, all assignments
sharing ``--jobs`` workers. For each assignment ``<hw>`` this writes into ``--out``:

* ``<hw>/scores.csv``: ``submission, total, possible, percent, <question>..., error``;
* ``<hw>/reports/<submission>.json``: otter's full report, with the source and messages of the
  hidden tests: **for instructors only**;
* ``<hw>/feedback/<submission>.txt``: what may go back to the student: the score per question
  and the messages of the *public* checks (which the student's notebook already shows);

plus ``gradebook.csv``, one row per student (the submission's file name without extension) and
one total/possible pair per assignment. A submission that cannot be graded gets a zero with the
reason and never stops the batch; progress goes to stderr. Manually graded questions are not
part of the autograder's total.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from dropoutcourse import subprocess_env


def _notebook_of(path: Path, workdir: Path) -> Path:
    """The notebook to grade: the file itself, or the single .ipynb inside a submission zip."""
    if path.suffix != ".zip":
        return path
    with zipfile.ZipFile(path) as zf:
        names = [n for n in zf.namelist() if n.endswith(".ipynb") and "checkpoint" not in n]
        if len(names) != 1:
            raise ValueError(f"{path.name}: expected one .ipynb in the zip, found {names}")
        target = workdir / path.stem
        zf.extract(names[0], target)
        return target / names[0]


def grade_one(
    autograder: Path,
    submission: Path,
    reports: Path | None = None,
    feedback: Path | None = None,
) -> dict:
    """Run ``otter run`` on one submission; return ``{submission, total, possible, ...}``.

    ``reports``: folder for the full instructor report; ``feedback``: folder for the
    student-safe feedback file (both written as ``<submission stem>.json`` / ``.txt``).
    """
    row: dict = {"submission": submission.name}
    env = subprocess_env()  # quiet TensorFlow in the grading kernels
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        try:
            notebook = _notebook_of(submission, tmp)
        except (ValueError, zipfile.BadZipFile) as exc:
            return {**row, "total": 0.0, "possible": None, "error": str(exc)}
        cmd = [
            sys.executable,
            "-m",
            "otter",
            "run",
            "--no-logo",
            "-a",
            str(autograder),
            "-o",
            str(tmp),
            str(notebook),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        results = tmp / "results.json"
        if proc.returncode != 0 or not results.exists():
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
            return {
                **row,
                "total": 0.0,
                "possible": None,
                "error": f"otter run failed ({proc.returncode}): {' | '.join(tail)}",
            }
        data = json.loads(results.read_text())
        if reports is not None:
            reports.mkdir(parents=True, exist_ok=True)
            (reports / f"{submission.stem}.json").write_text(json.dumps(data, indent=1))
    total = possible = 0.0
    for test in data.get("tests", []):
        if test.get("max_score") is None:  # the "Public Tests" summary entry
            continue
        row[test["name"]] = float(test.get("score") or 0.0)
        total += row[test["name"]]
        possible += float(test["max_score"])
    row.update(
        total=total,
        possible=possible,
        percent=round(100 * total / possible, 1) if possible else 0.0,
    )
    if feedback is not None:
        feedback.mkdir(parents=True, exist_ok=True)
        text = student_feedback(data, row, assignment_name(autograder))
        (feedback / f"{submission.stem}.txt").write_text(text, encoding="utf-8")
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
) -> list[dict]:
    """Grade every ``*.ipynb`` / ``*.zip`` directly inside ``submissions``, sorted by name."""
    job = (Path(autograder), Path(submissions), reports, feedback)
    return grade_many([job], jobs)[0]


def grade_many(
    assignments: list[tuple[Path, Path, Path | None, Path | None]], jobs: int = 1
) -> list[list[dict]]:
    """Grade several ``(autograder, folder, reports, feedback)`` batches in one worker pool.

    Returns one list of rows per batch, in the batches' order; progress goes to stderr.
    """
    work = [
        (k, autograder, path, reports, feedback)
        for k, (autograder, folder, reports, feedback) in enumerate(assignments)
        for path in submissions_in(folder)
    ]
    done: list[str] = []
    lock = threading.Lock()

    def safe(item) -> tuple[int, dict]:
        k, autograder, path, reports, feedback = item
        # one broken submission must never stop the batch: it gets a zero with the reason
        try:
            row = grade_one(autograder, path, reports, feedback)
        except Exception as exc:  # noqa: BLE001
            row = {"submission": path.name, "total": 0.0, "possible": None, "error": repr(exc)}
        if row.get("error") and feedback is not None:
            feedback.mkdir(parents=True, exist_ok=True)
            (feedback / f"{path.stem}.txt").write_text(
                f"{assignment_name(autograder)}: {path.name}\n"
                "Your submission could not be graded, so it scores 0 for now. Check that it is\n"
                "the .ipynb saved from JupyterLab (Kernel > Restart and run all, then save) and\n"
                "ask your instructor.\n",
                encoding="utf-8",
            )
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


def main(argv: list[str] | None = None) -> int:
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
    args = parser.parse_args(argv)
    if len(args.pairs) % 2:
        parser.error("give AUTOGRADER SUBMISSIONS pairs (an autograder zip, then its folder)")
    if args.jobs < 1:
        parser.error(f"--jobs must be a positive integer, got {args.jobs}")
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
    results = grade_many(batches, args.jobs)
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
