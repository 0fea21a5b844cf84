"""ARCHITECTURE.md cannot drift: its API and module map are regenerated from the code."""

from _support import ROOT, load_script


def _tool():
    return load_script("architecture", ROOT / "tools" / "architecture.py")


def test_architecture_md_matches_the_code():
    tool = _tool()
    text = (ROOT / "ARCHITECTURE.md").read_text()
    assert tool.MARKER in text, "ARCHITECTURE.md has no generated part: run tools/architecture.py"
    assert text.split(tool.MARKER)[1] == tool.generated().split(tool.MARKER)[1], (
        "ARCHITECTURE.md is out of date: run python tools/architecture.py"
    )


def test_the_module_map_sees_imports_inside_functions():
    tool = _tool()
    assert "dropoutcourse.replica_fit" in tool.package_imports("dropoutcourse")
    assert "dropoutcourse.plot_style" in tool.package_imports("dropoutcourse.plots")
