"""ipywidgets panels, one module per panel (each names the notebook that shows it).

Panels compute in the package and only display here; each is a small class or function that
returns an ``ipywidgets`` box ready to show in a notebook cell.
"""
