"""Services and domain modules are storage-free at run time too, not only by their own imports: importing them in a
fresh interpreter loads no storage or HTTP library (import-linter checks the static graph, this the real one)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = ("import sys, functions.records.service, functions.agenda.service, functions.notifications.service, "
         "functions.access.service, functions.access.policy, functions.reference.service; "
         "print([m for m in ('pynamodb', 'botocore', 'boto3', 'chalice') if m in sys.modules])")


def test_importing_the_services_loads_no_storage_library() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         check=True)
    assert out.stdout.strip() == "[]"
