"""The command line: `python -m dropoutcourse reproduce|figures`."""

import subprocess
import sys

import pytest

from dropoutcourse.__main__ import main


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "reproduce" in out and "figures" in out
    with pytest.raises(SystemExit) as exc:
        main(["reproduce", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--full" in out and "--out" in out and "--seeds" in out
    assert "--quick" not in out  # hidden test flag


def test_module_entry_point_runs():
    proc = subprocess.run(
        [sys.executable, "-m", "dropoutcourse", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "reproduce" in proc.stdout


def test_bad_arguments_exit_with_usage(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["reproduce", "--seeds", "0"])
    assert exc.value.code == 2
    assert "--seeds" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train"])


def test_figures_writes_pngs(tmp_path, capsys):
    assert main(["figures", "--out", str(tmp_path)]) == 0
    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    assert {"network_standard.png", "network_thinned.png", "fit_demo.png"} <= set(pngs)
    for name in pngs:
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_reproduce_quick_writes_results_and_figures(tmp_path, capsys):
    assert main(["reproduce", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "[1/6]" in out and "[6/6]" in out  # progress
    md = (tmp_path / "results.md").read_text()
    for name in (
        "compare",
        "rate_sweep",
        "data_size_sweep",
        "mc_vs_weight_scaling",
        "regularizer_table",
        "keras_tutorial_cv",
    ):
        png = tmp_path / f"{name}.png"
        assert png.exists() and png.read_bytes()[:4] == b"\x89PNG", name
        assert (tmp_path / f"{name}.csv").exists(), name
        assert f"]({name}.png)" in md
    assert md.count("**Reading:**") == 6
    assert "folds, not seeds" in md  # the k-fold run is read over its folds
    assert "2 seeds" in md and "±" in md
    assert "| label | test_acc" in md


def test_importing_the_cli_and_report_leaves_the_environment_alone():
    """Only running the CLI draws headless; importing its modules changes no global state."""
    import os

    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    code = (
        "import os, dropoutcourse.report, dropoutcourse.__main__; "
        "print(os.environ.get('MPLBACKEND'))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "None"
