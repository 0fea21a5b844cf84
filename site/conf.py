"""Sphinx configuration of the course website (built by site/build.py, never by hand).

site/build.py copies this file into a staging folder next to the pages it assembles
(README syllabus, executed lecture notebooks, homework student versions, slide decks).
Everything is local: notebooks are rendered with their stored outputs (no execution),
math by the MathJax copy shipped in a Python package, no widget scripts from a CDN.
"""

project = "dropoutcourse"
author = "dropoutcourse authors"
copyright = "course text CC BY 4.0, code MIT"

extensions = ["myst_nb"]
exclude_patterns = ["_build", "_extra", "**.ipynb_checkpoints"]
root_doc = "index"

# notebooks: shown as executed (their stored outputs); never run here
nb_execution_mode = "off"
nb_ipywidgets_js = {}  # the default loads scripts from a CDN; live widgets need a kernel anyway
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]
nb_output_stderr = "show"
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

# math: MathJax 2 from the staged copy (the combined TeX/HTML-CSS configuration it ships), with
# the STIX-Web fonts of that copy; as in the classic Jupyter notebook
mathjax_path = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"
mathjax2_config = {
    "tex2jax": {
        "inlineMath": [["\\(", "\\)"]],
        "displayMath": [["\\[", "\\]"]],
        "processEscapes": True,
        "processEnvironments": True,
        "processClass": "math|output_area",
        "ignoreClass": "document",
    },
    "HTML-CSS": {
        "availableFonts": [],
        "preferredFont": None,
        "imageFont": None,
        "webFont": "STIX-Web",
    },
    "showMathMenu": False,
    "messageStyle": "none",
}

html_theme = "alabaster"
html_title = "dropoutcourse"
html_static_path = ["_static"]
html_extra_path = ["_extra"]  # slide decks, PDF handouts, downloadable notebooks
html_copy_source = False
html_show_sourcelink = False
html_theme_options = {
    "description": "Dropout regularization, from first intuition to practice",
    "font_family": "sans-serif",
    "head_font_family": "sans-serif",
}
html_show_sphinx = False
html_theme_options["show_powered_by"] = False
