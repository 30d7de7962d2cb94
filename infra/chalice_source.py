"""Stages the Chalice project that `chalice package` sees: app.py, .chalice/config.json and vendor/ (symlinks
followed, so `functions` lands at the zip root), with an EMPTY requirements.txt. The dependencies ship in the
shared layer (layers/), so the function zips hold only the app's own code."""

from __future__ import annotations

import shutil
from pathlib import Path

from infra.constants import REPO_ROOT

_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".mypy_cache", ".pytest_cache")


def stage_app(target: Path, repo: Path = REPO_ROOT) -> Path:
    shutil.rmtree(target, ignore_errors=True)
    (target / ".chalice").mkdir(parents=True)
    shutil.copy2(repo / "app.py", target / "app.py")
    shutil.copy2(repo / ".chalice" / "config.json", target / ".chalice" / "config.json")
    shutil.copytree(repo / "vendor", target / "vendor", symlinks=False, ignore=_IGNORE)
    if (repo / "chalicelib").is_dir():
        shutil.copytree(repo / "chalicelib", target / "chalicelib", symlinks=False, ignore=_IGNORE)
    (target / "requirements.txt").write_text("# dependencies ship in the shared layer built from layers/\n")
    return target
