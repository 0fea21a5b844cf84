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
nb_merge_streams = True  # Keras' per-epoch lines as one block, as in JupyterLab
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

# sphinx-book-theme (from the lock): navigation by lecture on the left, the page's sections
# on the right, a menu button at phone width. No repository, launch or download buttons: the
# site is offline and every page's downloads are linked in its own text.
html_theme = "sphinx_book_theme"
html_title = "dropoutcourse"
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_extra_path = ["_extra"]  # slide decks, PDF handouts, downloadable notebooks
html_copy_source = False
html_show_sourcelink = False
html_show_sphinx = False
html_last_updated_fmt = None
html_theme_options = {
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "show_toc_level": 2,
    "use_download_button": False,
    "use_fullscreen_button": False,
    "use_repository_button": False,
    "search_bar_text": "Search the course…",
}
