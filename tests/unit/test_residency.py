"""Residency (security-tests.md): health data stay in France. The stack is pinned to eu-west-3 (tests/infra);
here the functions themselves refuse to run against another region, so a copy deployed or configured elsewhere
fails at its first call instead of writing anyone's data outside Paris."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from functions.shared.settings import Settings
from local.config import local_env

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"


@pytest.mark.parametrize("region", ["eu-west-1", "eu-central-1", "us-east-1"])
def test_settings_refuse_any_region_but_paris(region: str) -> None:
    """Given a stage's environment naming another region (even inside the EEA), then the settings do not load
    and say which setting is wrong; the same environment in eu-west-3 loads."""
    env = local_env()
    assert Settings.from_env({**env, "AWS_REGION": "eu-west-3"}).region == "eu-west-3"
    with pytest.raises(RuntimeError, match="region"):
        Settings.from_env({**env, "AWS_REGION": region})
    without = {k: v for k, v in env.items() if k != "AWS_REGION"}
    with pytest.raises(RuntimeError, match="region"):
        Settings.from_env({**without, "AWS_DEFAULT_REGION": region})


def test_no_function_names_a_region_of_its_own() -> None:
    """Given the deployed code, then no region is written in it but Paris: every client takes the settings'
    region, so the check above covers them all."""
    pattern = re.compile(r"""["'](?:af|ap|ca|cn|eu|il|me|mx|sa|us)-(?:gov-)?[a-z]+-\d["']""")
    named = {f"{p.relative_to(FUNCTIONS.parent)}: {m}" for p in FUNCTIONS.rglob("*.py")
             for m in pattern.findall(p.read_text()) if m.strip("\"'") != "eu-west-3"}
    assert named == set()
