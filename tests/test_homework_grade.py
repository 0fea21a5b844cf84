"""homework/grade.py without otter: feedback files, the gradebook and the command line.

``grade_one`` is replaced by a fake that returns rows and writes otter-like reports, so these
tests run in a second; the real gradings are in test_homework*.py (marked slow).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from _support import load_script

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str):
    return load_script(f"homework_{name}", ROOT / "homework" / f"{name}.py")


hwgrade = _load("grade")

REPORT = {
    "tests": [
        {
            "name": "Public Tests",
            "visibility": "visible",
            "output": (
                "q1 results:\n    q1 - 1 result:\n        ❌ Test case failed\n"
                "            AssertionError: with rate=0.3 you used rate as the KEEP probability\n\n"
                "q2 results: All test cases passed!\n"
            ),
        },
        {
            "name": "q1",
            "score": 1.0,
            "max_score": 3.0,
            "visibility": "hidden",
            "output": "# HIDDEN\nassert secret_hidden_check(), 'hidden message'",
        },
        {
            "name": "q2",
            "score": 1.0,
            "max_score": 2.0,
            "visibility": "hidden",
            "output": "# HIDDEN\nassert other_hidden_check()",
        },
    ]
}


def test_feedback_has_scores_and_public_messages_only():
    row = {"submission": "alice.ipynb", "total": 2.0, "possible": 5.0, "percent": 40.0}
    text = hwgrade.student_feedback(REPORT, row, "hw1-implement-dropout")
    assert "2 / 5 (40 %)" in text
    assert "q1: 1 / 3" in text and "KEEP probability" in text
    assert "q2: 1 / 2" in text and "hidden tests (more cases) did not" in text
    assert "secret_hidden_check" not in text and "hidden message" not in text
    assert "HIDDEN" not in text


def test_gradebook_has_one_row_per_student_and_counts_missing_work(tmp_path):
    by_hw = {
        "hw1": [
            {"submission": "alice.ipynb", "total": 16.0, "possible": 16.0},
            {"submission": "bob.ipynb", "total": 8.0, "possible": 16.0},
        ],
        "hw2": [{"submission": "alice.zip", "total": 4.0, "possible": 16.0}],
    }
    hwgrade.write_gradebook(by_hw, tmp_path / "gradebook.csv")
    with open(tmp_path / "gradebook.csv") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert sorted(rows) == ["alice", "bob"]
    assert float(rows["alice"]["total"]) == 20 and float(rows["alice"]["possible"]) == 32
    assert rows["bob"]["hw2 total"] == "" and float(rows["bob"]["possible"]) == 32
    assert float(rows["bob"]["percent"]) == 25.0


def _fake_grade_one(autograder, path, reports=None, feedback=None, **options):
    if path.stem == "broken":
        raise RuntimeError("kernel died")
    row = {"submission": path.name, "total": 1.0, "possible": 2.0, "percent": 50.0, "q1": 1.0}
    for folder, name, text in (
        (reports, f"{path.stem}.json", json.dumps(REPORT)),
        (feedback, f"{path.stem}.txt", hwgrade.student_feedback(REPORT, row, "hw")),
    ):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return row


def test_command_line_grades_several_assignments_into_separate_folders(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(hwgrade, "grade_one", _fake_grade_one)
    args = []
    for hw, students in (("hw1-a", ["alice", "bob"]), ("hw2-b", ["alice", "broken"])):
        zip_ = tmp_path / f"{hw}-autograder.zip"
        zip_.write_bytes(b"")
        folder = tmp_path / "subs" / hw
        folder.mkdir(parents=True)
        for s in students:
            (folder / f"{s}.ipynb").write_text("{}")
        args += [str(zip_), str(folder)]
    out = tmp_path / "grades"
    status = hwgrade.main([*args, "--out", str(out), "--jobs", "2"])
    assert status == 1, "a submission that could not be graded must make the exit status 1"
    for hw in ("hw1-a", "hw2-b"):
        assert (out / hw / "scores.csv").is_file()
        assert (out / hw / "reports" / "alice.json").is_file()
        assert (out / hw / "feedback" / "alice.txt").is_file()
    with open(out / "hw2-b" / "scores.csv") as f:
        broken = next(r for r in csv.DictReader(f) if r["submission"] == "broken.ipynb")
    assert float(broken["total"]) == 0 and "kernel died" in broken["error"]
    assert "could not be graded" in (out / "hw2-b" / "feedback" / "broken.txt").read_text()
    with open(out / "gradebook.csv") as f:
        book = {r["student"]: r for r in csv.DictReader(f)}
    assert sorted(book) == ["alice", "bob", "broken"]
    assert float(book["alice"]["total"]) == 2.0
    err = capsys.readouterr().err
    assert "[4/4]" in err and "hw2-b/" in err, err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["only-one.zip"], "pairs"),
        (["missing.zip", "."], "not found"),
        (["a.zip", ".", "--timeout", "0"], "--timeout"),
        (["a.zip", ".", "--memory-gb", "-1"], "--memory-gb"),
    ],
)
def test_command_line_rejects_bad_arguments_by_name(argv, message, capsys):
    with pytest.raises(SystemExit):
        hwgrade.main(argv)
    assert message in capsys.readouterr().err
