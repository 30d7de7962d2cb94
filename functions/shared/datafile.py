"""Rules kept as data beside the code that applies them (the access matrix, its thresholds, the document types):
read from the capability's `data/` folder, or from a file named by an environment variable so that a deployment
replaces a rule by configuration, not by a code change."""

from __future__ import annotations

import json
import os
from importlib import resources
from typing import Any


def read_json(package: str, name: str, override_env: str | None = None) -> Any:
    """`<package>/data/<name>`, or the file `override_env` names when it is set."""
    override = os.environ.get(override_env) if override_env else None
    if override:
        with open(override, encoding="utf-8") as f:
            return json.load(f)
    return json.loads(resources.files(package).joinpath("data", name).read_text(encoding="utf-8"))
