"""Runs cdk-nag (AwsSolutions + HIPAA Security) over the SAM-transformed template: the Lambda functions, the REST
API and its stage only exist there. Usage: python nag_transformed.py TEMPLATE OUTDIR. Exit status 0 = no
unacknowledged error. Acknowledgments and their reasons live in infra/nag.py (TRANSFORMED_ACKNOWLEDGMENTS)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import aws_cdk as cdk
from aws_cdk import cloudformation_include as cfn_inc

from infra.nag import TRANSFORMED_ACKNOWLEDGMENTS, acknowledge, apply_packs


def main(template: str, outdir: str) -> int:
    app = cdk.App(outdir=outdir)
    stack = cdk.Stack(app, "Transformed", env=cdk.Environment(region="eu-west-3"),
                      synthesizer=cdk.DefaultStackSynthesizer(generate_bootstrap_version_rule=False))
    included = cfn_inc.CfnInclude(stack, "Template", template_file=template)
    # Acknowledgments made in the stack travel in each resource's Metadata (written by infra/nag.py).
    resources = json.loads(Path(template).read_text())["Resources"]
    for logical_id, resource in resources.items():
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", []):
            acknowledge(included.get_resource(logical_id), rule["reason"], rule["id"])
    for logical_id, acknowledgments in TRANSFORMED_ACKNOWLEDGMENTS.items():
        for rule, reason in acknowledgments:
            acknowledge(included.get_resource(logical_id), reason, rule)
    apply_packs(app)
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
