"""`make lab` starts JupyterLab on notebooks/ and it answers on loopback (as root too)."""
from __future__ import annotations

import json
import urllib.request

from lab_server import TOKEN, running_lab


def test_make_lab_serves_the_notebooks_folder():
    with running_lab() as base:
        with urllib.request.urlopen(f"{base}/api/contents?token={TOKEN}", timeout=10) as reply:
            listing = json.load(reply)
    names = {item["name"] for item in listing["content"]}
    assert "00_data_and_sound.ipynb" in names
