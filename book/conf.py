"""Sphinx configuration of the musiclab book (``make book``; tools/book.py stages the sources).

The notebooks are not executed: the book shows their committed outputs. Widgets arrive already
drawn as static HTML (tools/book.py), and MathJax is served from the book itself
(sphinx-mathjax-offline), so every page works without internet.
"""
project = "musiclab"
author = "the musiclab authors"
copyright = "musiclab authors, MIT licence"

extensions = ["myst_nb", "sphinx-mathjax-offline"]
nb_execution_mode = "off"             # use the stored outputs
nb_ipywidgets_js = {}                 # no widget JavaScript from a CDN: widgets are static HTML
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
nb_merge_streams = True

html_theme = "alabaster"
html_title = "musiclab: making music with deep learning and reinforcement learning"
html_theme_options = {"page_width": "1100px", "sidebar_width": "230px", "font_family": "sans-serif",
                      "head_font_family": "sans-serif"}
html_show_sourcelink = False
html_copy_source = False            # the notebooks themselves are in the repository
exclude_patterns = [".doctrees", "**.ipynb_checkpoints"]
suppress_warnings = ["myst.header", "mystnb.unknown_mime_type"]
