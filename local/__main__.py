"""`python -m local run | token ... | ins | tick | upload | smtp | verify-traces | outbox ...`

A person's mistake (a wrong INS, the stack not running, a missing file, an unknown profession, a bad date) is one
line on stderr and exit status 2, never a traceback: every command raises `UserError`, and `main` reports it."""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NoReturn

from local import config

PROG = "python -m local"
# Dates the local tool accepts: wide enough for any birth or reminder day, far from datetime's year-1/9999 edges.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2099, 12, 31)


class UserError(Exception):
    """Something the person can fix; `main` prints it as one line and exits 2."""


class _Parser(argparse.ArgumentParser):
    """argparse prints the usage block and then the error; we keep the one line that says what is wrong."""

    def error(self, message: str) -> NoReturn:
        raise UserError(f"{message} (see `{self.prog} --help`)")


# ---- shared checks ----------------------------------------------------------------------------------------------


def _day(raw: str) -> date:
    """An argparse type: a YYYY-MM-DD day within FIRST_DAY..LAST_DAY."""
    try:
        day = date.fromisoformat(raw.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a date: expected YYYY-MM-DD, e.g. 1984-06-12") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise argparse.ArgumentTypeError(f"{raw!r} is outside {FIRST_DAY.year}-{LAST_DAY.year}")
    return day


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise UserError(f"{what} {path!r} does not exist") from None
    except IsADirectoryError:
        raise UserError(f"{what} {path!r} is a folder, not a file") from None
    except OSError as err:
        raise UserError(f"{what} {path!r} cannot be read: {err.strerror}") from None


def _aws_reachable() -> bool:
    return _listening(config.AWS_PORT)


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _need_stack() -> None:
    """Commands that read or write the local stack's data start here."""
    if not _aws_reachable():
        raise UserError(f"the local stack is not running (nothing answers on port {config.AWS_PORT}, "
                        "MES_LOCAL_AWS_PORT): start `make run` in another terminal first")
    config.apply(config.local_env())


def _ins(raw: str) -> str:
    from functions.identity.ins import parse_ins
    from functions.shared.errors import InvalidRequest

    try:
        return parse_ins(raw).value
    except InvalidRequest as err:
        raise UserError(f"invalid INS: {err.message} (`{PROG} ins --random` prints a valid one)") from None


# ---- run --------------------------------------------------------------------------------------------------------


def run(_args: argparse.Namespace) -> int:
    import logging

    for port, variable in ((config.AWS_PORT, "MES_LOCAL_AWS_PORT"), (config.API_PORT, "MES_LOCAL_API_PORT")):
        if _listening(port):
            raise UserError(f"port {port} is busy: is `make run` already running? ({variable} changes it)")
    print(f"starting the local AWS on :{config.AWS_PORT} and the API on :{config.API_PORT} ...", flush=True)
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from local.moto_fidelity import every_fix

    every_fix()
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
    seed.seed(_seed_upload)
    threading.Thread(target=pump.run_forever, daemon=True, name="upload-verifier").start()
    from local import agenda

    shards, deliveries = agenda.pumps(retry_delay_seconds=5)
    threading.Thread(target=shards.run_forever, daemon=True, name="agenda-shards").start()
    threading.Thread(target=deliveries.run_forever, daemon=True, name="agenda-deliveries").start()
    threading.Thread(target=agenda.tick_on_date_change, daemon=True, name="agenda-daily-tick").start()
    exports = QueuePump(client("sqs", config.REGION), config.EXPORT_QUEUE, api.on_export, retry_delay_seconds=5)
    threading.Thread(target=exports.run_forever, daemon=True, name="exports").start()
    _start_mail(api, client)
    accounts = QueuePump(client("sqs", config.REGION), config.ACCOUNTS_TASK_QUEUE, api.on_accounts_task,
                         retry_delay_seconds=5)  # beneficiaries files dropped into the intake bucket
    threading.Thread(target=accounts.run_forever, daemon=True, name="accounts-tasks").start()
    from local import erasure

    erasures = erasure.pump(retry_delay_seconds=5)  # the closure's deletions due at once, the daily job's
    threading.Thread(target=erasures.run_forever, daemon=True, name="erasures").start()
    threading.Thread(target=erasure.daily_on_date_change, daemon=True, name="erasure-daily").start()
    http = gateway.serve(api.app, "127.0.0.1", config.API_PORT, issuer.jwks_path)
    print(_banner(), flush=True)
    try:
        http.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def _start_mail(api: Any, client: Any) -> None:
    """Inbound mail: the queue's consumer and the SMTP listener on config.SMTP_PORT (a busy port: no listener)."""
    from local.pump import QueuePump
    from local.smtp import controller

    mail = QueuePump(client("sqs", config.REGION), config.INBOUND_MAIL_QUEUE, api.on_inbound_mail,
                     retry_delay_seconds=5)
    threading.Thread(target=mail.run_forever, daemon=True, name="inbound-mail").start()
    if _listening(config.SMTP_PORT):
        print(f"port {config.SMTP_PORT} is busy: no SMTP listener (MES_LOCAL_SMTP_PORT changes it)", flush=True)
        return
    controller().start()


def smtp(args: argparse.Namespace) -> int:
    """The SMTP listener alone, against a running `make run` (which also runs one on config.SMTP_PORT)."""
    _need_stack()
    if _listening(args.port):
        raise UserError(f"port {args.port} is busy (is `make run` already listening on it?): use --port")
    from local.smtp import controller

    listener = controller(port=args.port)
    listener.start()
    print(f"SMTP on 127.0.0.1:{args.port}: mail to <INS>@patient.mssante.fr goes to the inbound-mail bucket "
          "(Ctrl-C stops)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        listener.stop()
    return 0


def _seed_upload(post: Any, data: bytes) -> None:
    import requests

    response = requests.post(post.url, data=post.fields, files={"file": ("document", data)}, timeout=10)
    response.raise_for_status()


def _banner() -> str:
    from local.seed import DEMO_PATIENT, HOSPITAL, OTHER_PATIENT, PROFESSIONALS

    base = f"http://localhost:{config.API_PORT}"
    pros = "\n".join(f"    {label:<24} --rpps {p.rpps} --profession {p.profession} --finess {p.finess}"
                     for label, p in PROFESSIONALS.items())
    doctor = PROFESSIONALS["hospital physician"]
    return f"""
Mon espace santé is running on {base}  (local AWS: http://127.0.0.1:{config.AWS_PORT}, Ctrl-C stops both)
Data lives in memory: Ctrl-C forgets it, and the next `make run` starts again from the demo data below.
API contract: {base}/v1/openapi.json, to try in a browser: {base}/docs
Inbound mail: SMTP on 127.0.0.1:{config.SMTP_PORT} (MES_LOCAL_SMTP_PORT), to <INS>@patient.mssante.fr (README: swaks)

Demo identities
  patients (INS): {DEMO_PATIENT} (has a discharge letter from hospital {HOSPITAL}), {OTHER_PATIENT}
  any other patient: python -m local token citizen --ins $(python -m local ins --random)
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
  curl -s -X POST {base}/v1/patients/{DEMO_PATIENT}/documents -H "Authorization: Bearer $DOCTOR" \\
      -H 'Idempotency-Key: my-first-upload-0001' -H 'Content-Type: application/json' \\
      -d '{{"type_code": "11488-4", "title": "Consultation", "service_date": "2026-11-20",
           "content_type": "text/plain", "size": 7, "sha256": "'$(sha256sum note.txt | cut -c1-64)'"}}' \\
      > ticket.json
  python -m local upload ticket.json note.txt --token "$DOCTOR"   # accepted / refused by the verifier
  curl -H "Authorization: Bearer $PATIENT" {base}/v1/me/traces
  # access rules: a GP of another organisation needs the patient's consent (or a place in the care team)
  GP=$(python -m local token professional --rpps 10000000003 --profession 10 --finess 690000002)
  curl -H "Authorization: Bearer $GP" {base}/v1/patients/{DEMO_PATIENT}/documents                # 403
  curl -H "Authorization: Bearer $GP" -H 'X-Access-Reason: consent' \\
      {base}/v1/patients/{DEMO_PATIENT}/documents                                             # 200
  curl -H "Authorization: Bearer $PATIENT" {base}/v1/me/professionals
  curl -s -H "Authorization: Bearer $PATIENT" {base}/v1/me/traces/export > export.json
  python -m local verify-traces export.json
"""


# ---- token ------------------------------------------------------------------------------------------------------


def token_citizen(args: argparse.Namespace) -> int:
    """A citizen token for any valid INS; its space is opened and activated if it has none."""
    ins = _ins(args.ins)
    if args.birth_date and args.birth_date > date.today():
        raise UserError("--birth-date is in the future")
    _need_stack()
    from local.issuer import DevIssuer
    from local.seed import citizen_subject, ensure_citizen

    ensure_citizen(ins, args.birth_date, args.email)
    print(DevIssuer().mint(config.CITIZEN_ISSUER, citizen_subject(ins)))
    return 0


def token_professional(args: argparse.Namespace) -> int:
    """A Pro Santé Connect style token; the claims are checked here as the API checks them, with the fix named."""
    import re

    from functions.access.matrix import matrix

    if not re.fullmatch(r"[0-9]{11}", args.rpps):
        raise UserError(f"--rpps must be 11 digits (e.g. 10000000001), not {args.rpps!r}")
    if not re.fullmatch(r"[0-9AB]{9}", args.finess):
        raise UserError(f"--finess must be 9 characters, digits or A/B (e.g. 750000001), not {args.finess!r}")
    professions = matrix().professions
    if args.profession not in professions:
        known = ", ".join(f"{code} {label}" for code, label in list(professions.items())[:4])
        raise UserError(f"unknown profession {args.profession!r}: use a code of the professions list ({known}, ...; "
                        f"all of them: GET http://localhost:{config.API_PORT}/v1/reference/professions)")
    _need_stack()
    from local.issuer import DevIssuer

    claims = {"rpps": args.rpps, "profession": args.profession, "finess": args.finess}
    if args.specialty:
        claims["specialty"] = args.specialty
    if args.name:
        claims["name"] = args.name
    print(DevIssuer().mint(config.PRO_ISSUER, f"psc-{args.rpps}", claims))
    return 0


def token_organisation(args: argparse.Namespace) -> int:
    """A hospital information system calling as itself: a client-credentials style token from the professional
    issuer, with its FINESS and no RPPS (the documents it declares name their professional author)."""
    import re

    if not re.fullmatch(r"[0-9AB]{9}", args.finess):
        raise UserError(f"--finess must be 9 characters, digits or A/B (e.g. 750000001), not {args.finess!r}")
    _need_stack()
    from local.issuer import DevIssuer

    claims = {"finess": args.finess, **({"organisation_name": args.name} if args.name else {})}
    print(DevIssuer().mint(config.PRO_ISSUER, f"client-{args.finess}", claims))
    return 0


# ---- ins --------------------------------------------------------------------------------------------------------


def ins(args: argparse.Namespace) -> int:
    """`--random` prints a valid test INS (same checks as the API); an INS given is checked and described."""
    import random

    from local.testins import random_ins, valid_department

    if args.value and args.random:
        raise UserError("give either an INS to check or --random, not both")
    if args.value:
        value = _ins(args.value)
        print(f"valid INS: sex {value[0]}, born {value[3:5]}/{value[1:3]}, department {value[5:7]}")
        return 0
    if not args.random:
        raise UserError(f"give an INS to check, or --random for a new one (see `{PROG} ins --help`)")
    if args.born and args.born > date.today():
        raise UserError("--born is in the future")
    department = None
    if args.dept is not None:
        department = valid_department(args.dept)
        if department is None:
            raise UserError(f"--dept {args.dept!r} is not a department of birth: 01-95, 2A, 2B (Corsica), "
                            "971-976 or 984-989 (overseas), 99 (abroad)")
    print(random_ins(random.Random(), int(args.sex) if args.sex else None, args.born, department))
    return 0


# ---- tick -------------------------------------------------------------------------------------------------------


def tick(args: argparse.Namespace) -> int:
    _need_stack()
    from local import agenda

    print(agenda.tick(args.date))
    return 0


def catalogue_status(args: argparse.Namespace) -> int:
    """What operations do to a referenced service after publication (functions/catalogue/operations.py)."""
    _need_stack()
    from functions import deps
    from functions.catalogue.models import ServiceStatus
    from functions.catalogue.operations import change_status

    ended = change_status(deps.catalogue(), args.oid, ServiceStatus(args.status), args.operator)
    print(f"{args.oid}: {args.status}" + (f", {ended} pairing(s) ended" if ended else ""))
    return 0


def catalogue_summaries(args: argparse.Namespace) -> int:
    """Send the day's 90-day summaries of paired services (the job's function; not scheduled in a stage yet)."""
    _need_stack()
    from functions import deps
    from functions.catalogue.summary import send_summaries
    from functions.shared.clock import paris_day

    report = send_summaries(deps.catalogue_summaries(), args.date or paris_day(datetime.now(UTC)))
    print(report.model_dump_json())
    return 0


def erasure_daily(args: argparse.Namespace) -> int:
    """The `erasure-daily` schedule for one Paris day, then the erasures queue drained (`make run` runs it daily)."""
    _need_stack()
    from local import erasure

    print(json.dumps(erasure.daily(args.date)))
    return 0


# ---- upload -----------------------------------------------------------------------------------------------------

_REASONS = {
    "size_mismatch": "the file's size is not the declared size",
    "checksum_mismatch": "the file's SHA-256 is not the declared sha256",
    "content_type_mismatch": "the file was sent with another Content-Type than the declared one",
    "content_not_of_declared_type": "the bytes are not of the declared content_type",
    "upload_expired": "the file arrived after upload.expires_at: declare it again with a new Idempotency-Key",
}


def upload(args: argparse.Namespace) -> int:
    """POST a file to the presigned form of an upload answer (what a hospital's software does), then, with
    --token, read the document through the API until the verifier has decided. A message's answer (its
    `uploads`, one per declared attachment) takes `--attachment N`, the upload to fill (the first by default)."""
    answer = _ticket(args.response)
    if "uploads" in answer:
        return _upload_attachment(answer, _read(args.file, "the file to upload"), args.attachment)
    ticket = answer
    data = _read(args.file, "the file to upload")
    bearer = _bearer(args.token) if args.token else None
    sent_at = datetime.now(UTC)
    sent = _post_form(ticket["upload"], data)
    if sent:
        print(sent)
        return 1
    if bearer is None:
        print("uploaded: the verifier checks it in the background (add --token <the declaring caller's token> "
              "to wait for its answer)")
        return 0
    path = _document_path(bearer, ticket)
    line, status = await_verdict(lambda: _read_document(bearer, path), args.wait, sent_at)
    print(line)
    return status


def _ticket(path: str) -> dict[str, Any]:
    raw = _read(path, "the upload answer")
    try:
        ticket = json.loads(raw)
        if isinstance(ticket, dict) and isinstance(ticket.get("uploads"), list) and ticket.get("message_id"):
            return ticket  # a message's answer: one upload per declared attachment
        if isinstance(ticket, dict) and isinstance(ticket["upload"]["fields"], dict) and ticket["upload"]["url"] \
                and ticket["document_id"]:
            return ticket
    except (ValueError, TypeError, KeyError):
        pass
    raise UserError(f"{path!r} is not the JSON answer of POST .../documents (document_id and upload) nor of a "
                    "message with attachments (message_id and uploads)")


def _upload_attachment(answer: dict[str, Any], data: bytes, index: int) -> int:
    """One attachment of a message: sent to its form; the verifier's verdict shows as the attachment's state in
    the conversation (and the holder's mail leaves once every verdict is in)."""
    uploads = answer["uploads"]
    if not uploads:
        raise UserError("this message declared no attachment waiting for its bytes (its uploads are empty)")
    if not 0 <= index < len(uploads):
        raise UserError(f"--attachment {index}: the message has {len(uploads)} upload(s), 0 to {len(uploads) - 1}")
    sent = _post_form(uploads[index], data)
    if sent:
        print(sent)
        return 1
    print(f"uploaded: the verifier checks it in the background; attachment {uploads[index]['attachment_id']} shows "
          f"its state in GET /v1/me/conversations/{answer['conversation_id']}")
    return 0


def _bearer(token: str) -> dict[str, Any]:
    """The token and what the tool needs of it (who issued it, whether it expired), read without verification:
    the API verifies it."""
    import jwt

    raw = token.removeprefix("Bearer ").strip()
    try:
        claims = jwt.decode(raw, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise UserError(f"--token is not a token: pass the output of `{PROG} token ...`") from None
    if claims.get("iss") not in (config.CITIZEN_ISSUER, config.PRO_ISSUER):
        raise UserError(f"--token was not issued by the local development issuer: use `{PROG} token ...`")
    if isinstance(claims.get("exp"), int) and claims["exp"] < time.time():
        raise UserError(f"--token has expired: mint a new one with `{PROG} token ...`")
    return {"raw": raw, "issuer": claims["iss"]}


def _post_form(post: dict[str, Any], data: bytes) -> str | None:
    """None when storage took the file, else the one line saying why not."""
    import requests

    try:
        response = requests.post(post["url"], data=post["fields"], files={"file": ("document", data)}, timeout=30)
    except requests.ConnectionError:
        raise UserError(f"nothing answers at {post['url']}: is `make run` running? (an upload answer is only good "
                        "for the stack that gave it)") from None
    if response.ok:
        return None
    return f"refused by storage: HTTP {response.status_code} {' '.join(response.text.split())[:200]}"


def _document_path(bearer: dict[str, Any], ticket: dict[str, Any]) -> str:
    document_id = ticket["document_id"]
    if bearer["issuer"] == config.CITIZEN_ISSUER:
        return f"/v1/me/documents/{document_id}"
    patient = ticket["upload"]["fields"].get("x-amz-meta-patient", "")
    return f"/v1/patients/{patient}/documents/{document_id}"


def _read_document(bearer: dict[str, Any], path: str) -> dict[str, Any]:
    import requests

    base = f"http://127.0.0.1:{config.API_PORT}"
    try:
        response = requests.get(base + path, headers={"Authorization": f"Bearer {bearer['raw']}"}, timeout=10)
    except requests.ConnectionError:
        raise UserError(f"the file was sent, but the API does not answer on {base} (MES_LOCAL_API_PORT): "
                        "is `make run` running?") from None
    if response.status_code != 200:
        try:
            answer = f"{response.status_code} {response.json()['error']['code']}"
        except (ValueError, KeyError, TypeError):
            answer = str(response.status_code)
        raise UserError(f"the file was sent, but the API answers {answer} when reading the document: --token must "
                        "be the token of who declared it")
    document: dict[str, Any] = response.json()
    return document


def await_verdict(read: Callable[[], dict[str, Any]], wait_seconds: float, sent_at: datetime,
                  sleep: Callable[[float], None] = time.sleep,
                  clock: Callable[[], float] = time.monotonic) -> tuple[str, int]:
    """Read the document until it is no longer pending (1, 2, 4, 4... s apart: each read is a traced access the
    patient sees, so a few reads rather than many); the line to print and the exit status (0 accepted).
    A document decided before `sent_at` was not decided on this file (the verifier discards a second upload)."""
    deadline = clock() + wait_seconds
    delay = 1.0
    while True:
        sleep(max(0.0, min(delay, deadline - clock())))
        document = read()
        status = document.get("status")
        if status in ("available", "rejected") and _decided_before(document, sent_at):
            return (f"the document was already {status} before this upload, which was discarded: one file per "
                    "declaration (declare again with a new Idempotency-Key)"), 1
        if status == "available":
            return "accepted: the document is in the record", 0
        if status == "rejected":
            reason = str(document.get("rejection_reason"))
            explained = f" ({_REASONS[reason]})" if reason in _REASONS else ""
            return f"refused by the verifier: {reason}{explained}", 1
        if status != "pending":
            return f"the document is {status}", 1
        if clock() >= deadline:
            return (f"still pending after {wait_seconds:g} s: the verifier has not decided yet "
                    "(`make run` prints its errors; --wait waits longer)"), 1
        delay = min(delay * 2, 4.0)


def _decided_before(document: dict[str, Any], moment: datetime) -> bool:
    try:
        return datetime.fromisoformat(str(document.get("updated_at"))) < moment
    except (ValueError, TypeError):  # no date, or one without a zone: not a reason to say "already decided"
        return False


# ---- verify-traces ----------------------------------------------------------------------------------------------


def verify_traces(args: argparse.Namespace) -> int:
    """Check a signed trace export: the signature and the hash chain. The public key is never taken from the file:
    `--public-key` (DER or PEM, e.g. from `aws kms get-public-key` on the stage's key) checks offline; without it,
    the local stack's key is asked. Exit status 1 when anything was removed or altered."""
    from pydantic import ValidationError

    from functions.audit.export import SignedExport, check

    try:
        export = SignedExport.model_validate_json(_read(args.file, "the export"))
    except ValidationError:
        raise UserError(f"{args.file!r} is not a trace export (save GET /v1/me/traces/export to a file)") from None
    if args.public_key:
        public_key = _public_key(args.public_key)
    else:
        if not _aws_reachable():
            raise UserError(f"the local stack is not running (nothing answers on port {config.AWS_PORT}): start "
                            "`make run` first, or pass --public-key")
        config.apply(config.local_env())
        from functions.shared.aws import client
        from functions.shared.settings import settings

        public_key = client("kms", config.REGION).get_public_key(KeyId=settings().trace_signing_key_id)["PublicKey"]
    try:
        problems = check(export, public_key)
    except (ValueError, KeyError, TypeError):  # a payload that is not a trace chain at all
        problems = ["the payload is not a trace chain"]
    for problem in problems:
        print(f"TAMPERED: {problem}")
    if not problems:
        print("OK: signature valid, chain intact")
    return 1 if problems else 0


def _public_key(path: str) -> bytes:
    from cryptography.hazmat.primitives import serialization

    raw = _read(path, "the public key")
    try:
        key = (serialization.load_pem_public_key(raw) if raw.lstrip().startswith(b"-----BEGIN")
               else serialization.load_der_public_key(raw))
    except ValueError:
        raise UserError(f"{path!r} is not a public key (DER or PEM)") from None
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


# ---- the command line -------------------------------------------------------------------------------------------


def outbox(args: argparse.Namespace) -> int:
    """The mail captured locally in place of SES: one line each, or one mail whole with --show."""
    _need_stack()
    from functions.shared.aws import client
    from functions.shared.settings import settings
    from local.outbox import captured, raw_of

    s = settings()
    if not s.outbox_bucket:
        raise UserError("no outbox bucket configured (MES_OUTBOX_BUCKET): mail leaves through SES")
    s3 = client("s3", s.region)
    if args.show:
        raw = raw_of(s3, s.outbox_bucket, args.show)
        if raw is None:
            raise UserError(f"no mail captured under the once key {args.show!r} (`{PROG} outbox` lists them)")
        sys.stdout.write(raw.decode("ascii", errors="replace"))
        return 0
    mails = captured(s3, s.outbox_bucket)
    for mail in mails:
        print(mail.line())
    if not mails:
        print("no mail has left the patients' mailboxes yet")
    return 0


def parser() -> argparse.ArgumentParser:
    api, aws = f"http://localhost:{config.API_PORT}", f"http://127.0.0.1:{config.AWS_PORT}"
    top = _Parser(prog=PROG, description=f"The local stack: API {api} (MES_LOCAL_API_PORT), local AWS {aws} "
                                         "(MES_LOCAL_AWS_PORT).")
    sub = top.add_subparsers(dest="command", required=True, metavar="command")
    sub.add_parser("run", help=f"local AWS on :{config.AWS_PORT} + API on :{config.API_PORT} + queue consumers, "
                               "with demo data (in memory, until Ctrl-C)").set_defaults(handler=run)

    tok = sub.add_parser("token", help=f"print a development bearer token for the API on :{config.API_PORT}")
    kinds = tok.add_subparsers(dest="kind", required=True, metavar="kind")
    citizen = kinds.add_parser("citizen", help="a patient (opens and activates their space if needed)")
    citizen.add_argument("--ins", required=True, help=f"a valid INS (`{PROG} ins --random` prints one)")
    citizen.add_argument("--birth-date", type=_day, help="YYYY-MM-DD: schedules the prevention reminders")
    citizen.add_argument("--email", help="contact address for e-mail reminders")
    citizen.set_defaults(handler=token_citizen)
    pro = kinds.add_parser("professional", help="a health professional acting for an organisation")
    pro.add_argument("--rpps", required=True, help="11 digits, e.g. 10000000001")
    pro.add_argument("--profession", required=True, help="a profession code, e.g. 10 (médecin), 21 (pharmacien)")
    pro.add_argument("--finess", required=True, help="the organisation, 9 characters, e.g. 750000001")
    pro.add_argument("--specialty")
    pro.add_argument("--name", help="the display name the patient reads (e.g. 'Claire Martin')")
    pro.set_defaults(handler=token_professional)
    org = kinds.add_parser("organisation", help="a hospital's information system calling as itself (FINESS)")
    org.add_argument("--finess", required=True)
    org.add_argument("--name", help="the organisation's display name (e.g. 'Hôpital Nord')")
    org.set_defaults(handler=token_organisation)

    ins_cmd = sub.add_parser("ins", help="print a valid test INS (--random) or check one")
    ins_cmd.add_argument("value", nargs="?", metavar="INS", help="an INS to check")
    ins_cmd.add_argument("--random", action="store_true", help="print a new valid INS")
    ins_cmd.add_argument("--sex", choices=("1", "2"), help="1 man, 2 woman (default: either)")
    ins_cmd.add_argument("--born", type=_day, help="YYYY-MM-DD (only year and month are in an INS)")
    ins_cmd.add_argument("--dept", help="department of birth: 01-95, 2A, 2B, 971-976, 99 (abroad)")
    ins_cmd.set_defaults(handler=ins)

    tick_cmd = sub.add_parser("tick", help="run one day's reminder fan-out and delivery against `make run`")
    tick_cmd.add_argument("--date", type=_day, help="the Paris day to fan out (default: today)")
    tick_cmd.set_defaults(handler=tick)

    status_cmd = sub.add_parser("catalogue-status", help="change a referenced service's status (suspension and "
                                                         "dereferencing bite at once) against `make run`")
    status_cmd.add_argument("oid")
    status_cmd.add_argument("status", choices=["EN_LIGNE", "HORS_LIGNE", "PRESERIE", "SUSPENDUE", "DEREFERENCEE"])
    status_cmd.add_argument("--operator", default=os.environ.get("USER") or "local-operator",
                            help="who makes the change, kept in the service's status history (default: $USER)")
    status_cmd.set_defaults(handler=catalogue_status)
    summary_cmd = sub.add_parser("catalogue-summaries", help="send one day's 90-day summaries of paired services")
    summary_cmd.add_argument("--date", type=_day, help="the Paris day (default: today)")
    summary_cmd.set_defaults(handler=catalogue_summaries)
    erasure_cmd = sub.add_parser("erasure-daily", help="erase the closed spaces due on a day (deletions asked, "
                                                       "10-year archives ending) against `make run`")
    erasure_cmd.add_argument("--date", type=_day, help="the Paris day (default: today)")
    erasure_cmd.set_defaults(handler=erasure_daily)

    up = sub.add_parser("upload", help="send a file to the presigned POST of an upload answer and say whether "
                                       "the verifier accepted it")
    up.add_argument("response", help="file holding the JSON answer of POST .../documents, or of a message that "
                                     "declared attachments (its `uploads`)")
    up.add_argument("file")
    up.add_argument("--attachment", type=int, default=0, help="for a message: which of its uploads (default 0)")
    up.add_argument("--token", help=f"the bearer token that declared the document: the tool reads it on {api} "
                                    "until the verifier decides (each read is traced)")
    up.add_argument("--wait", type=float, default=20.0, help="seconds to wait for the verifier (default 20)")
    up.set_defaults(handler=upload)

    mail = sub.add_parser("smtp", help=f"an SMTP listener writing mail to the inbound-mail bucket "
                                        f"(make run starts one on :{config.SMTP_PORT})")
    mail.add_argument("--port", type=int, default=config.SMTP_PORT, help=f"default {config.SMTP_PORT}")
    mail.set_defaults(handler=smtp)

    ver = sub.add_parser("verify-traces", help="check a signed export of GET /v1/me/traces/export")
    ver.add_argument("file")
    ver.add_argument("--public-key", help="the signing key's public key (DER or PEM) to check offline")
    ver.set_defaults(handler=verify_traces)

    out = sub.add_parser("outbox", help="list the mail that left the patients' mailboxes (captured locally in "
                                        "place of SES): date, from, to, subject, once key")
    out.add_argument("--show", metavar="ONCE_KEY", help="print that mail whole (RFC 5322)")
    out.set_defaults(handler=outbox)
    return top


def main(argv: list[str] | None = None) -> int:
    """The one place a mistake becomes a line on stderr and exit status 2."""
    try:
        if config.INVALID_SETTINGS:
            raise UserError(config.INVALID_SETTINGS[0])
        args = parser().parse_args(argv)
        handler: Callable[[argparse.Namespace], int] = args.handler
        return handler(args)
    except UserError as err:
        print(f"{PROG}: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
