"""Builds the dependencies layer: `pip install` of layers/requirements.txt for Lambda's platform (manylinux2014
x86_64, CPython 3.11, wheels only) into layers/build/python. No docker: pip picks the Linux wheels by tag.

Rebuilds only when the requirements change (a stamp holds their hash). Run directly (`python layers/build.py`) or
through infra/cdk_app.py, which calls `ensure_built()` before synthesizing."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements.txt"
BUILD_DIR = HERE / "build"
SITE_DIR = BUILD_DIR / "python"  # Lambda adds /opt/python to sys.path
STAMP = BUILD_DIR / ".stamp"
PLATFORM = "manylinux2014_x86_64"
PYTHON_VERSION = "3.11"
# Never needed at run time; dropping them keeps the layer small and the asset hash stable.
PRUNE_DIRS = ("__pycache__",)


def _requirement_files(path: Path) -> list[Path]:
    files = [path]
    for line in path.read_text().splitlines():
        line = line.strip()
        if line.startswith("-r "):
            files += _requirement_files((path.parent / line[3:].strip()).resolve())
    return files


def fingerprint() -> str:
    digest = hashlib.sha256(f"{PLATFORM}:{PYTHON_VERSION}".encode())
    for file in _requirement_files(REQUIREMENTS):
        digest.update(file.read_bytes())
    return digest.hexdigest()


def is_current() -> bool:
    return STAMP.exists() and STAMP.read_text().strip() == fingerprint() and SITE_DIR.is_dir()


def ensure_built(python: str = sys.executable) -> Path:
    """Returns the layer's root directory (holding `python/`), building it first if the requirements changed."""
    if is_current():
        return BUILD_DIR
    shutil.rmtree(BUILD_DIR, ignore_errors=True)
    SITE_DIR.mkdir(parents=True)
    command = [
        python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
        "--platform", PLATFORM, "--implementation", "cp", "--python-version", PYTHON_VERSION,
        "--only-binary=:all:", "--target", str(SITE_DIR), "-r", str(REQUIREMENTS),
    ]
    result = subprocess.run(command, check=False, capture_output=True, text=True)  # noqa: S603 - fixed argv
    if result.returncode != 0:
        raise RuntimeError(f"building the dependencies layer failed:\n{result.stderr[-4000:]}")
    for pattern in PRUNE_DIRS:
        for junk in SITE_DIR.rglob(pattern):
            shutil.rmtree(junk, ignore_errors=True)
    shutil.rmtree(SITE_DIR / "bin", ignore_errors=True)  # console scripts: nothing runs them in Lambda
    STAMP.write_text(fingerprint())
    return BUILD_DIR


if __name__ == "__main__":
    print(ensure_built())
