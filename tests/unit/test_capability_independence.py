"""Records and access decide together (a professional's read, the author's release) without importing each other:
each reaches the other through a port it defines, wired in functions/deps.py. Checked on the real import graph in
a fresh interpreter (import-linter checks the static one), so a function-level import cannot hide a cycle."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("module", "never"), [
    ("functions.records.service", "functions.access"),
    ("functions.records.storage", "functions.access"),
    ("functions.records.storage", "functions.journal.storage"),
    ("functions.access.service", "functions.records"),
    ("functions.access.storage", "functions.records"),
    ("functions.audit.service", "functions.access"),
])
def test_a_capability_loads_nothing_of_the_other(module: str, never: str) -> None:
    probe = (f"import sys, {module}; "
             f"print(sorted(m for m in sys.modules if m == {never!r} or m.startswith({never + '.'!r})))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         check=True)
    assert out.stdout.strip() == "[]"
