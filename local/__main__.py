"""`python -m local run | token citizen ... | token professional ... | tick --date YYYY-MM-DD | upload ...`"""

from __future__ import annotations

import argparse
import sys
import threading
from datetime import date
from typing import Any

from local import config


def _upload(post: Any, data: bytes) -> None:
    import requests

    response = requests.post(post.url, data=post.fields, files={"file": ("document", data)}, timeout=10)
    response.raise_for_status()


def _aws_reachable() -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", config.AWS_PORT)) == 0


def run() -> None:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    if _aws_reachable():
        sys.exit(f"port {config.AWS_PORT} is busy: is `make run` already running? (MES_LOCAL_AWS_PORT changes it)")
    from local.moto_fidelity import serialize_dynamodb_writes

    serialize_dynamodb_writes()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=config.AWS_PORT, verbose=False)
    server.start()
    config.apply(config.local_env())

    import app as api
    from functions.shared.aws import client
    from local import gateway, resources, seed
    from local.issuer import DevIssuer
    from local.pump import QueuePump

    issuer = DevIssuer()
    resources.create_all()
    pump = QueuePump(client("sqs", config.REGION), config.UPLOAD_EVENTS_QUEUE, api.on_upload_event,
                     retry_delay_seconds=5)
    seed.seed(_upload)
    threading.Thread(target=pump.run_forever, daemon=True, name="upload-verifier").start()
    from local import agenda

    shards, deliveries = agenda.pumps(retry_delay_seconds=5)
    threading.Thread(target=shards.run_forever, daemon=True, name="agenda-shards").start()
    threading.Thread(target=deliveries.run_forever, daemon=True, name="agenda-deliveries").start()
    threading.Thread(target=agenda.tick_on_date_change, daemon=True, name="agenda-daily-tick").start()
    http = gateway.serve(api.app, "127.0.0.1", config.API_PORT, issuer.jwks_path)
    print(_banner(), flush=True)
    try:
        http.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def _banner() -> str:
    from local.seed import DEMO_PATIENT, HOSPITAL, OTHER_PATIENT, PROFESSIONALS

    base = f"http://localhost:{config.API_PORT}"
    pros = "\n".join(f"    {label:<24} --rpps {p.rpps} --profession {p.profession} --finess {p.finess}"
                     for label, p in PROFESSIONALS.items())
    doctor = PROFESSIONALS["hospital physician"]
    return f"""
Mon espace santé is running on {base}  (local AWS: http://127.0.0.1:{config.AWS_PORT}, Ctrl-C stops both)
API contract: {base}/v1/openapi.json, to try in a browser: {base}/docs

Demo identities
  patients (INS): {DEMO_PATIENT} (has a discharge letter from hospital {HOSPITAL}), {OTHER_PATIENT}
  professionals:
{pros}

Try it (in another terminal, from this folder):
  . .venv/bin/activate
  curl {base}/v1/health
  PATIENT=$(python -m local token citizen --ins {DEMO_PATIENT})
  curl -H "Authorization: Bearer $PATIENT" {base}/v1/me/documents
  curl -H "Authorization: Bearer $PATIENT" {base}/v1/me/notifications
  DOCTOR=$(python -m local token professional --rpps {doctor.rpps} --profession {doctor.profession} \\
      --finess {doctor.finess})
  printf 'Bonjour' > note.txt
  curl -X POST {base}/v1/patients/{DEMO_PATIENT}/documents -H "Authorization: Bearer $DOCTOR" \\
      -H 'Idempotency-Key: my-first-upload-0001' -H 'Content-Type: application/json' \\
      -d '{{"type_code": "11488-4", "title": "Consultation", "service_date": "2026-11-20",
           "content_type": "text/plain", "size": 7, "sha256": "'$(sha256sum note.txt | cut -c1-64)'"}}'
  # then POST the file to upload.url with every upload.fields entry as a form field, e.g. with the
  # README's helper: python -m local upload <response.json> note.txt
  curl -H "Authorization: Bearer $PATIENT" {base}/v1/me/traces
  # access rules: a GP of another organisation needs the patient's consent (or a place in the care team)
  GP=$(python -m local token professional --rpps 10000000003 --profession 10 --finess 690000002)
  curl -H "Authorization: Bearer $GP" {base}/v1/patients/{DEMO_PATIENT}/documents                # 403
  curl -H "Authorization: Bearer $GP" -H 'X-Access-Reason: consent' \
      {base}/v1/patients/{DEMO_PATIENT}/documents                                             # 200
  curl -H "Authorization: Bearer $PATIENT" {base}/v1/me/professionals
  curl -s -H "Authorization: Bearer $PATIENT" {base}/v1/me/traces/export > export.json
  python -m local verify-traces export.json
"""


def token(args: argparse.Namespace) -> None:
    if not _aws_reachable():
        sys.exit("the local AWS is not running: start `make run` first")
    config.apply(config.local_env())
    from local.issuer import DevIssuer

    issuer = DevIssuer()
    if args.kind == "citizen":
        from functions.identity.ins import parse_ins
        from local.seed import citizen_subject, ensure_citizen

        ins = parse_ins(args.ins).value
        ensure_citizen(ins, args.birth_date, args.email)
        print(issuer.mint(config.CITIZEN_ISSUER, citizen_subject(ins)))
    else:
        claims = {"rpps": args.rpps, "profession": args.profession, "finess": args.finess}
        if args.specialty:
            claims["specialty"] = args.specialty
        print(issuer.mint(config.PRO_ISSUER, f"psc-{args.rpps}", claims))


def tick(args: argparse.Namespace) -> None:
    if not _aws_reachable():
        sys.exit("the local AWS is not running: start `make run` first")
    config.apply(config.local_env())
    from local import agenda

    print(agenda.tick(args.date))


def upload(args: argparse.Namespace) -> None:
    """POST a file to the presigned form from an upload answer (what a hospital's software does)."""
    import json

    import requests

    ticket = json.loads(open(args.response, encoding="utf-8").read())["upload"]  # noqa: SIM115
    with open(args.file, "rb") as f:
        response = requests.post(ticket["url"], data=ticket["fields"], files={"file": ("document", f)}, timeout=30)
    print(response.status_code, response.text)


def verify_traces(args: argparse.Namespace) -> int:
    """Check a signed trace export: the signature and the hash chain. The public key is never taken from the file:
    `--public-key` (DER or PEM, e.g. from `aws kms get-public-key` on the stage's key) checks offline; without it,
    the local stack's key is asked. Exit status 1 when anything was removed or altered."""
    from functions.audit.export import SignedExport, check

    with open(args.file, encoding="utf-8") as f:
        export = SignedExport.model_validate_json(f.read())
    if args.public_key:
        from cryptography.hazmat.primitives import serialization

        raw = open(args.public_key, "rb").read()  # noqa: SIM115
        if raw.lstrip().startswith(b"-----BEGIN"):
            raw = serialization.load_pem_public_key(raw).public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        public_key = raw
    else:
        if not _aws_reachable():
            sys.exit("the local AWS is not running: start `make run` first, or pass --public-key")
        config.apply(config.local_env())
        from functions.shared.aws import client
        from functions.shared.settings import settings

        public_key = client("kms", config.REGION).get_public_key(KeyId=settings().trace_signing_key_id)["PublicKey"]
    problems = check(export, public_key)
    for problem in problems:
        print(f"TAMPERED: {problem}")
    if not problems:
        print("OK: signature valid, chain intact")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m local")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="local AWS + API on :8000 + queue consumers")
    tok = sub.add_parser("token", help="print a development bearer token")
    kinds = tok.add_subparsers(dest="kind", required=True)
    citizen = kinds.add_parser("citizen")
    citizen.add_argument("--ins", required=True)
    citizen.add_argument("--birth-date", type=date.fromisoformat)
    citizen.add_argument("--email", help="contact address for e-mail reminders")
    tick_cmd = sub.add_parser("tick", help="run one day's reminder fan-out and delivery against `make run`")
    tick_cmd.add_argument("--date", type=date.fromisoformat, help="the Paris day to fan out (default: today)")
    pro = kinds.add_parser("professional")
    pro.add_argument("--rpps", required=True)
    pro.add_argument("--profession", required=True)
    pro.add_argument("--finess", required=True)
    pro.add_argument("--specialty")
    up = sub.add_parser("upload", help="send a file to the presigned POST of an upload answer")
    up.add_argument("response", help="file holding the JSON answer of POST .../documents")
    up.add_argument("file")
    ver = sub.add_parser("verify-traces", help="check a signed export of GET /v1/me/traces/export")
    ver.add_argument("file")
    ver.add_argument("--public-key", help="the signing key's public key (DER or PEM) to check offline")
    args = parser.parse_args(argv)
    if args.command == "verify-traces":
        sys.exit(verify_traces(args))
    {"run": lambda: run(), "token": lambda: token(args), "upload": lambda: upload(args),
     "tick": lambda: tick(args)}[args.command]()


if __name__ == "__main__":
    main()
