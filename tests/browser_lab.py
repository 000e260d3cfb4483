"""Drive JupyterLab in Debian's Chromium through Playwright (no browser download).

``lab_notebook(name)`` starts `make lab` on loopback over a copy of ``notebooks/`` (so that
JupyterLab's autosave never rewrites the committed notebooks), opens ``name`` in a clean
workspace, and yields the Playwright page; ``run_all_cells(page)`` runs the notebook as a user's
"Run All" would and waits for the kernel to go idle.
"""
from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from pathlib import Path

from lab_server import ROOT, TOKEN, running_lab

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run",
]


def browser_missing_reason() -> str | None:
    """Why the browser test cannot run here, or None when it can."""
    if shutil.which(CHROMIUM) is None:
        return f"{CHROMIUM} not installed (apt-get install chromium; `make test` does it when root)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright)"
    return None


@contextlib.contextmanager
def lab_notebook(name: str, viewport=(1400, 1000)):
    """A Playwright page showing notebooks/``name`` in a JupyterLab started by `make lab`."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as copy:
        shutil.copytree(ROOT / "notebooks", Path(copy) / "notebooks")
        with running_lab(extra_args="--LabApp.expose_app_in_browser=True",
                         lab_dir=Path(copy) / "notebooks") as base, sync_playwright() as p:
            yield from _open(p, base, name, viewport)


def _open(p, base: str, name: str, viewport):
    """Launch Chromium, open the notebook, wait for its kernel; yield the page; close."""
    browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
        page.goto(f"{base}/lab/tree/{name}?reset&token={TOKEN}")
        page.wait_for_selector(".jp-NotebookPanel .jp-Notebook", timeout=60_000)
        page.wait_for_function("() => window.jupyterapp !== undefined", timeout=60_000)
        wait_for_idle_kernel(page, timeout_s=120)
        yield page
    finally:
        browser.close()


def wait_for_idle_kernel(page, timeout_s: float = 300) -> None:
    """Wait until the notebook's kernel exists and reports idle."""
    page.wait_for_function(
        """() => {
            const panel = window.jupyterapp.shell.currentWidget;
            const kernel = panel && panel.sessionContext && panel.sessionContext.session
                           && panel.sessionContext.session.kernel;
            return kernel && kernel.status === 'idle';
        }""",
        timeout=timeout_s * 1000,
    )


def run_all_cells(page, timeout_s: float = 300) -> float:
    """Run every cell (the "Run All" command) and wait for idle; returns the seconds it took."""
    start = time.monotonic()
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_timeout(500)
    wait_for_idle_kernel(page, timeout_s)
    page.wait_for_function(
        """() => !Array.from(document.querySelectorAll('.jp-InputPrompt'))
                 .some(p => p.textContent.includes('[*]'))""",
        timeout=timeout_s * 1000,
    )
    return time.monotonic() - start
