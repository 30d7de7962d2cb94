"""`chalice package` must ship `functions` and its data: build the artifact, unzip it, and import every module
from the zip alone (no site-packages, no repo on the path), as Lambda would."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

IMPORT_ALL = """
import importlib, pkgutil, sys
sys.path[:0] = [sys.argv[1]]
import app, chalicelib, functions
assert functions.__file__.startswith(sys.argv[1]), functions.__file__
assert chalicelib.__file__.startswith(sys.argv[1]), chalicelib.__file__
names = ["app"] + [m.name for package in (functions, chalicelib)
                   for m in pkgutil.walk_packages(package.__path__, package.__name__ + ".")]
assert "chalicelib.routes.agenda" in names, names
for name in names:
    importlib.import_module(name)
from functions.records import catalog
assert "11502-2" in catalog.document_types() and catalog.upload_limits().patient.max_bytes == 5242880
print(len(names), "modules imported from the package")
"""


def test_the_lambda_package_contains_and_imports_every_module(tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {**os.environ, "AWS_DEFAULT_REGION": "eu-west-3"}
    subprocess.run([str(Path(sys.executable).parent / "chalice"), "package", "--stage", "dev", str(out)],
                   cwd=ROOT, env=env, check=True, capture_output=True, timeout=600)
    unpacked = tmp_path / "zip"
    with zipfile.ZipFile(out / "deployment.zip") as archive:
        names = archive.namelist()
        archive.extractall(unpacked)
    assert "app.py" in names and "functions/records/data/document_types.json" in names
    assert "chalicelib/edge.py" in names and "chalicelib/routes/records.py" in names
    assert not [n for n in names if n.startswith(("local/", "tests/", "moto/"))]

    # -I -S: no user site, no site-packages, no PYTHONPATH: only the standard library and the unzipped package.
    result = subprocess.run([sys.executable, "-I", "-S", "-c", IMPORT_ALL, str(unpacked)], capture_output=True,
                            text=True, timeout=120, env={"PATH": os.environ.get("PATH", ""),
                                                         "AWS_DEFAULT_REGION": "eu-west-3"})
    assert result.returncode == 0, result.stderr
    assert "modules imported from the package" in result.stdout
