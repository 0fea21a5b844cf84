"""Grade a folder of submissions locally with ``otter run`` (no docker needed) and write a CSV.

    python homework/grade.py homework/dist/hw1-implement-dropout/autograder/hw1-implement-dropout-autograder.zip \\
        submissions/hw1/ --out hw1-scores.csv --jobs 2

Every ``*.ipynb`` in the submissions folder (or a student's ``.zip`` export containing one) is
run through ``otter run`` in the current environment, one process per submission, and gets one
CSV row: ``submission, total, possible, percent, <question>...``, plus ``error`` when grading
itself failed. ``otter run`` also writes the full per-test report (the students' failure
messages and the source of failed hidden tests: for instructors only) to
``<out folder>/reports/<assignment>/<submission>.json``; a submission that cannot be graded gets
a zero with the reason and never stops the batch. Manually graded questions are not part
of the autograder's total.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
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


def grade_one(autograder: Path, submission: Path, reports: Path | None = None) -> dict:
    """Run ``otter run`` on one submission; return ``{submission, total, possible, ...}``."""
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
    return row


def grade_folder(
    autograder: Path, submissions: Path, jobs: int = 1, reports: Path | None = None
) -> list[dict]:
    """Grade every ``*.ipynb`` / ``*.zip`` directly inside ``submissions``, sorted by name."""
    files = sorted(p for p in Path(submissions).iterdir() if p.suffix in (".ipynb", ".zip"))

    def safe(path: Path) -> dict:
        # one broken submission must never stop the batch: it gets a zero with the reason
        try:
            row = grade_one(Path(autograder), path, reports)
        except Exception as exc:  # noqa: BLE001
            row = {"submission": path.name, "total": 0.0, "possible": None, "error": repr(exc)}
        done.append(path.name)
        print(f"[{len(done)}/{len(files)}] {path.name}", file=sys.stderr, flush=True)
        return row

    done: list[str] = []
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(safe, files))


def write_csv(rows: list[dict], out: Path) -> None:
    """One row per submission; question columns in first-seen order."""
    fixed = ["submission", "total", "possible", "percent"]
    questions = [k for row in rows for k in row if k not in fixed and k != "error"]
    columns = fixed + list(dict.fromkeys(questions)) + ["error"]
    with open(out, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("autograder", type=Path, help="the <hw>-autograder.zip built by build.py")
    parser.add_argument("submissions", type=Path, help="folder of submitted notebooks")
    parser.add_argument("--out", type=Path, default=Path("scores.csv"), help="CSV to write")
    parser.add_argument("--jobs", type=int, default=1, help="submissions graded in parallel")
    args = parser.parse_args(argv)
    if not args.autograder.is_file():
        parser.error(f"autograder zip {args.autograder} not found; run `make homework` first")
    if not args.submissions.is_dir():
        parser.error(f"submissions folder {args.submissions} not found")
    # one report folder per assignment, so same-named students of two homeworks never collide
    assignment = args.autograder.name.removesuffix(".zip").removesuffix("-autograder")
    reports = args.out.parent / "reports" / assignment
    rows = grade_folder(args.autograder, args.submissions, args.jobs, reports=reports)
    write_csv(rows, args.out)
    for row in rows:
        status = row.get("error") or f"{row['total']:g} / {row['possible']:g}"
        print(f"{row['submission']}: {status}")
    print(f"wrote {args.out} ({len(rows)} submissions)")
    return 0 if all("error" not in r for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
