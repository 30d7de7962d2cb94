"""CDK entry point (not app.py: that name is the Chalice app's). Synthesizes one stage into cdk.out/.

    python infra/cdk_app.py -c stage=dev [-c key=value ...] [--out DIR]   # what `make synth STAGE=dev` runs
    npx cdk deploy --app cdk.out ...                                        # what `make deploy` runs after it

Context: `stage` (dev|prod, required), `region` (only eu-west-3 is accepted), and any stage parameter of
infra/stages/<stage>.json. A bad or missing parameter stops synth with a message naming it (exit status 2)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))  # `infra`, `layers`, and `functions` (app.py is imported by chalice package)

# This machine's node is 20 (end of life for jsii since 2026-10): keep the banner out of synth's output.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk  # noqa: E402

from infra import constants as c  # noqa: E402
from infra.chalice_source import stage_app  # noqa: E402
from infra.config import PARAMETERS, ConfigError, StageConfig, load  # noqa: E402
from infra.nag import apply_packs  # noqa: E402
from infra.stack import MonEspaceSanteStack  # noqa: E402

BUILD_DIR = REPO_ROOT / "build"
# Feature flags (what `cdk init` would put in cdk.json), fixed here so every machine synthesizes the same template.
FEATURE_FLAGS = {
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
    "@aws-cdk/aws-kms:applyImportedAliasPermissionsToPrincipal": True,
    "@aws-cdk/aws-iam:minimizePolicies": True,
    "@aws-cdk/core:checkSecretUsage": True,
    "@aws-cdk/aws-sqs:enableSsl": True,  # informative: the queues also set enforce_ssl
    "@aws-cdk/core:enablePartitionLiterals": True,
}


def parse_args(argv: list[str]) -> tuple[dict[str, str], Path | None]:
    context: dict[str, str] = {}
    out: Path | None = None
    args = iter(argv)
    for arg in args:
        if arg in {"-c", "--context"}:
            key, sep, value = next(args, "").partition("=")
            if not sep or not key:
                raise ConfigError(f"context must be given as -c key=value, got {key!r}")
            context[key] = value
        elif arg in {"-o", "--out"}:
            out = Path(next(args, "cdk.out")).resolve()
        else:
            raise ConfigError(f"unknown argument {arg!r} (use -c key=value or --out DIR)")
    return context, out


def build(config: StageConfig, out: Path | None, context: dict[str, str]) -> cdk.App:
    # chalice package builds botocore clients: pin them to the stack's region, whatever the machine says.
    os.environ["AWS_DEFAULT_REGION"] = c.REGION
    os.environ["AWS_REGION"] = c.REGION
    from layers.build import ensure_built

    layer_dir = ensure_built()
    source = stage_app(BUILD_DIR / f"chalice-app-{config.stage}")
    settings = {**FEATURE_FLAGS, **context}
    app = cdk.App(outdir=str(out), context=settings) if "CDK_OUTDIR" not in os.environ else cdk.App(context=settings)
    MonEspaceSanteStack(app, c.stack_name(config.stage), config=config, chalice_source=source,
                        build_dir=BUILD_DIR, layer_dir=layer_dir)
    apply_packs(app)
    return app


def main(argv: list[str]) -> int:
    try:
        context, out = parse_args(argv)
        probe = cdk.App(context=context) if context else cdk.App()  # CDK_CONTEXT_JSON when run by the cdk CLI
        keys = ["stage", "region", *PARAMETERS]
        values = {k: v for k in keys if (v := probe.node.try_get_context(k)) is not None}
        config = load(values)
    except ConfigError as exc:
        print(f"synth stopped: {exc}", file=sys.stderr)
        return 2
    app = build(config, out or REPO_ROOT / "cdk.out", context)
    app.synth()
    print(f"synthesized {c.stack_name(config.stage)} ({c.REGION}) into {app.outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
