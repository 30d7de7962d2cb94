"""Synthesizes the dev stage once per session, in a subprocess (synth imports app.py with CDK tokens and starts
jsii: none of that may leak into this process), and hands the tests the cloud assembly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
STAGE = "dev"
STACK = f"MonEspaceSante-{STAGE}"
# Issuers passed as context: the tests do not depend on the values committed in infra/stages/dev.json.
ISSUERS = {
    "citizen_issuer": "https://citizen.example.test",
    "citizen_audience": "mes-api",
    "citizen_jwks_uri": "https://citizen.example.test/jwks.json",
    "pro_issuer": "https://pro.example.test",
    "pro_audience": "mes-api",
    "pro_jwks_uri": "https://pro.example.test/jwks.json",
}


def run_cdk_app(*args: str, out: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
    command = [sys.executable, str(REPO / "infra" / "cdk_app.py"), *args]
    if out is not None:
        command += ["--out", str(out)]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)


@dataclass(frozen=True)
class Assembly:
    out: Path
    result: subprocess.CompletedProcess[str]

    @property
    def template_path(self) -> Path:
        return self.out / f"{STACK}.template.json"

    @property
    def template(self) -> dict[str, Any]:
        return json.loads(self.template_path.read_text())

    def resources(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == kind}


@pytest.fixture(scope="session")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Assembly:
    out = tmp_path_factory.mktemp("cdk") / "cdk.out"
    context = [arg for key, value in ISSUERS.items() for arg in ("-c", f"{key}={value}")]
    result = run_cdk_app("-c", f"stage={STAGE}", *context, out=out)
    assert result.returncode == 0, f"synth failed:\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
    return Assembly(out=out, result=result)


@pytest.fixture(scope="session")
def template(assembly: Assembly) -> dict[str, Any]:
    return assembly.template


@pytest.fixture(scope="session")
def transformed(template: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template after the SAM transform, as CloudFormation will deploy it (cdk-nag and cfn-lint cannot see
    inside AWS::Serverless::* resources)."""
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-3")
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    params = {"AWS::Region": "eu-west-3", "AWS::AccountId": "123456789012", "AWS::Partition": "aws"}
    output = transform(json.loads(json.dumps(template)), params, NoManagedPolicies())
    path = tmp_path_factory.mktemp("sam") / f"{STACK}.transformed.json"
    path.write_text(json.dumps(output, indent=1))
    return path
