"""Measures what costs money and latency, by counting, not by timing moto:

- AWS calls per API operation, counted at botocore's `_make_api_call` (every client, pynamodb's included), with
  requests sent to the Chalice app as API Gateway delivers them (after the cached authorizer);
- the verifier's calls per document, and its peak Python memory while verifying a 20 MB document;
- what an Idempotency-Key costs on a creating POST (an appointment): nothing without a key, one call with one
  (the claim rides in the creating transaction, the first response is set after it), a replay its service's reads
  plus one GetItem;
- Scan calls anywhere (must be 0);
- cold import time of `app.py` as a ratio to `import boto3`, each in a fresh interpreter, median of 7;
- the agenda's daily reminder run at 20 000 and 80 000 spaces (bench/agenda.py): calls and billed units per
  delivered reminder, shard balance, duplicates and losses after a forced redelivery and a re-run;
- inbound mail at 10 000 mailboxes / 50 000 MIME messages (bench/messaging.py): AWS calls per message, duplicates
  and losses after every event and every mail is delivered again, cost per million messages.

Results are printed and written to bench/results.json."""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import botocore.client
import requests

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"
CALLS: Counter[str] = Counter()
# What is billed per item rather than per call: DynamoDB items written in transactions, items read by BatchGetItem
# and Query, SES destinations, SQS messages in 64 KB chunks (the cost section of the README prices these).
ITEMS: Counter[str] = Counter()
# E-mails by destination address: how many one person got (the day's digest makes it at most 1 a day).
EMAILED: Counter[str] = Counter()
_original = botocore.client.BaseClient._make_api_call


def _count_items(service: str, operation: str, params: dict[str, Any], result: Any) -> None:
    if service == "dynamodb" and operation == "TransactWriteItems":
        ITEMS["dynamodb:transactional_item_writes"] += len(params["TransactItems"])
        ITEMS["dynamodb:transactional_item_writes_over_1kb"] += sum(
            1 for t in params["TransactItems"] if len(json.dumps(next(iter(t.values())))) > 1024)
    elif service == "dynamodb" and operation == "BatchGetItem":
        ITEMS["dynamodb:batch_get_item_reads"] += sum(len(r["Keys"]) for r in params["RequestItems"].values())
    elif service == "dynamodb" and operation == "Query" and isinstance(result, dict):
        size = len(json.dumps(result.get("Items", [])))
        ITEMS["dynamodb:query_bytes_read"] += size
        ITEMS["dynamodb:query_4kb_reads"] += max(1, -(-size // 4096))
    elif service == "ses" and operation == "SendBulkTemplatedEmail":
        ITEMS["ses:emails"] += len(params["Destinations"])
        EMAILED.update(a for d in params["Destinations"] for a in d["Destination"]["ToAddresses"])
    elif service == "sqs" and operation == "SendMessageBatch":  # billed per 64 KB chunk of the whole batch
        sizes = [len(e["MessageBody"].encode()) for e in params["Entries"]]
        ITEMS["sqs:messages_sent"] += len(sizes)
        ITEMS["sqs:billed_send_requests"] += max(1, -(-sum(sizes) // 65536))
        ITEMS["sqs:largest_message_bytes"] = max(ITEMS["sqs:largest_message_bytes"], *sizes)
    elif service == "sqs" and operation == "ReceiveMessage" and isinstance(result, dict):
        size = sum(len(m["Body"].encode()) for m in result.get("Messages", []))
        ITEMS["sqs:billed_receive_requests"] += max(1, -(-size // 65536))


def _counting(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
    service = self.meta.service_model.service_name
    CALLS[f"{service}:{operation_name}"] += 1
    result = _original(self, operation_name, api_params)
    _count_items(service, operation_name, api_params, result)
    return result


botocore.client.BaseClient._make_api_call = _counting


@contextmanager
def counted() -> Iterator[Counter[str]]:
    before = Counter(CALLS)
    delta: Counter[str] = Counter()
    yield delta
    delta.update({k: v - before.get(k, 0) for k, v in CALLS.items() if v - before.get(k, 0)})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_moto(port: int) -> subprocess.Popen[bytes]:
    """In its own process, so its memory (it holds the 20 MB object) is not counted as the verifier's; with the
    fidelity fixes of local.moto_fidelity (serialized writes, per-item transaction rollback), see local/moto_server."""
    proc = subprocess.Popen([sys.executable, "-m", "local.moto_server", "-H", "127.0.0.1", "-p", str(port)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.1)
    raise RuntimeError("moto server did not start")


def api_event(method: str, path: str, resource: str, params: dict[str, str], context: dict[str, str],
              body: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """An API Gateway proxy event as it reaches the function after the custom authorizer."""
    hdrs = {"content-type": "application/json", **(headers or {})}
    return {"resource": resource, "path": path, "httpMethod": method, "headers": hdrs,
            "multiValueHeaders": {k: [v] for k, v in hdrs.items()}, "queryStringParameters": None,
            "multiValueQueryStringParameters": None, "pathParameters": params, "stageVariables": None,
            "requestContext": {"resourcePath": resource, "httpMethod": method, "requestId": "bench",
                               "stage": "api", "authorizer": {**context, "principalId": "bench"},
                               "identity": {"sourceIp": "127.0.0.1"}},
            "body": json.dumps(body) if body is not None else None, "isBase64Encoded": False}


def cold_import_ratio(runs: int = 7) -> dict[str, float]:
    def median_seconds(statement: str) -> float:
        code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
        samples = []
        for _ in range(runs):
            out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
            samples.append(float(out.stdout.strip()))
        return statistics.median(samples)

    boto3_s = median_seconds("import boto3")
    app_s = median_seconds("import app")
    # What the first document request adds on top: the capability modules a route imports on first use.
    first_s = median_seconds("import app; import functions.deps, functions.records.service, "
                             "functions.records.storage, functions.records.blobs, functions.records.api")
    return {"boto3_seconds": round(boto3_s, 4), "app_seconds": round(app_s, 4), "ratio": round(app_s / boto3_s, 3),
            "app_plus_records_capability_seconds": round(first_s, 4),
            "app_plus_records_capability_ratio": round(first_s / boto3_s, 3)}


@contextmanager
def moto_server() -> Iterator[int]:
    """A moto server of its own (`start_moto`) for the block; yields its port."""
    port = free_port()
    moto = start_moto(port)
    try:
        yield port
    finally:
        moto.terminate()


@contextmanager
def aws_in_process() -> Iterator[int]:
    """moto's backends in this process (`mock_aws`) instead of its server: the same backends with the same fixes
    (local.moto_fidelity), and the same calls counted at `_make_api_call`, without the HTTP round trip, werkzeug
    and flask (~7 ms of the two processes' CPU per call against the server). The stage's environment is kept but
    for the endpoint: clients go to AWS's own host names, which moto intercepts; queue URLs take AWS's form."""
    from moto import mock_aws

    from local import config, moto_fidelity

    moto_fidelity.every_fix()
    port = free_port()  # never listened on: nothing must reach it
    original = config.local_env

    def local_env(*args: Any, **kwargs: Any) -> dict[str, str]:
        env = original(*args, **kwargs)
        local = env.pop("AWS_ENDPOINT_URL")
        return {k: v.replace(local, f"https://sqs.{config.REGION}.amazonaws.com") for k, v in env.items()}

    os.environ.pop("AWS_ENDPOINT_URL", None)
    config.local_env = local_env
    try:
        with mock_aws():
            yield port
    finally:
        config.local_env = original


def scenario_only(name: str, args: tuple[Any, ...], in_process: bool = False) -> None:
    """`python -m bench <scenario> [sizes] [--in-process] [--checkpoint DIR]`: one scenario alone at the given
    sizes, printed, results.json untouched (a quick before/after of a change, or a full-size run; `make bench` is
    the reference run). `--checkpoint` saves a long run every 30 minutes and resumes it (bench/checkpoint.py;
    accounts only). `--in-process` runs it on moto's backends in this process (`aws_in_process`): same counts,
    ~3x faster."""
    with aws_in_process() if in_process else moto_server() as port:
        results = importlib.import_module(f"bench.{name}").run(port, free_port(), *args)
    results = {**results, "against": "moto in process (mock_aws)" if in_process else "moto server"}
    print(json.dumps(results, indent=2))


def _ints(argv: list[str]) -> tuple[int, ...]:
    return tuple(int(a) for a in argv)


# scenario -> its arguments from the command line (the defaults when none are given)
SCENARIOS: dict[str, Any] = {
    "agenda": lambda argv: (_ints(argv[:2]) if len(argv) >= 2 else (2_000, 8_000),),
    "messaging": lambda argv: _ints(argv[:2]) if len(argv) >= 2 else (10_000, 50_000),
    "accounts": lambda argv: (_ints(argv) or (2_000,),),
    "measures": lambda argv: _ints(argv[:2]) if len(argv) >= 2 else (10_000, 100_000),
}


def main() -> None:
    if sys.argv[1:2] and sys.argv[1] in SCENARIOS:
        argv = [a for a in sys.argv[2:] if a != "--in-process"]
        if "--checkpoint" in argv:  # `--checkpoint DIR`: save and resume a long run (bench/checkpoint.py)
            from bench import checkpoint

            at = argv.index("--checkpoint")
            checkpoint.DIRECTORY = Path(argv[at + 1])
            del argv[at:at + 2]
        scenario_only(sys.argv[1], SCENARIOS[sys.argv[1]](argv), in_process="--in-process" in sys.argv[2:])
        return
    if sys.argv[1:2] == ["erasure"]:
        erasure_only()
        return
    with moto_server() as port:
        results = run(port)
        for name in SCENARIOS:  # each at its full size (bench/<name>.py: the sizes and why)
            results[name] = importlib.import_module(f"bench.{name}").run(port, free_port())
        results["scan_calls"] = sum(v for k, v in CALLS.items() if k.endswith(":Scan"))
    results["cold_import"] = cold_import_ratio()
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    print(f"\nwritten to {RESULTS.relative_to(ROOT)}")


def erasure_only() -> None:
    """`python -m bench erasure`: AWS calls per erased space of a typical size (bench/erasure.py), printed and kept
    under `erasure` in results.json (the rest of it untouched)."""
    from bench import erasure

    with moto_server() as port:
        results = erasure.run(port, counted, api_event, CALLS)
    kept = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    RESULTS.write_text(json.dumps({**kept, "erasure": results}, indent=2) + "\n")
    print(json.dumps(results, indent=2))


def run(port: int) -> dict[str, Any]:
    from local import config

    config.apply(config.local_env(aws_port=port, api_port=free_port(), prefix="mes-bench"))
    import app as api
    from functions import deps
    from functions.identity.ins import with_key
    from functions.records import service
    from functions.shared.aws import client
    from local import resources
    from local.pump import LambdaContext, QueuePump, sqs_event
    from local.seed import DOCTOR_CONTEXT, ensure_citizen

    resources.create_all()
    ins = with_key("2840675123456")
    ensure_citizen(ins)
    citizen_ctx = {"kind": "citizen", "ins": ins}
    pump = QueuePump(client("sqs", config.REGION), config.UPLOAD_EVENTS_QUEUE, api.on_upload_event)

    def call(event: dict[str, Any]) -> dict[str, Any]:
        response: dict[str, Any] = api.app(event, LambdaContext())
        assert response["statusCode"] < 300, response
        return dict(json.loads(response["body"]))

    def upload_event(data: bytes, key: str) -> dict[str, Any]:  # the hospital physician declares a lab report
        body = {"type_code": "11502-2", "title": "Bilan", "service_date": "2026-11-20",
                "content_type": "application/pdf", "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        return api_event("POST", f"/v1/patients/{ins}/documents", "/v1/patients/{ins}/documents", {"ins": ins},
                         DOCTOR_CONTEXT, body, {"idempotency-key": key})

    ops: dict[str, Any] = {}

    def measure(name: str, fn: Callable[[], Any]) -> Any:
        with counted() as calls:
            result = fn()
        ops[name] = {"aws_calls": sum(calls.values()), "by_operation": dict(sorted(calls.items()))}
        return result

    pdf = b"%PDF-1.4\n" + b"0" * 2000
    ticket = measure("upload_init_first_call", lambda: call(upload_event(pdf, "bench-upload-0001")))
    measure("upload_init_replay", lambda: call(upload_event(pdf, "bench-upload-0001")))
    requests.post(ticket["upload"]["url"], data=ticket["upload"]["fields"], files={"file": ("f", pdf)}, timeout=30)
    # Lambda's event source mapping polls and deletes SQS messages; the verifier's own calls are what we count.
    sqs = client("sqs", config.REGION)
    url = sqs.get_queue_url(QueueName=config.UPLOAD_EVENTS_QUEUE)["QueueUrl"]
    messages = [m for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
                if ticket["document_id"] in m["Body"]]
    measure("verifier_per_document", lambda: api.on_upload_event(sqs_event(messages, "arn:bench"), LambdaContext()))
    pump.drain()
    doc_id = ticket["document_id"]
    measure("citizen_list", lambda: call(api_event("GET", "/v1/me/documents", "/v1/me/documents", {},
                                                   citizen_ctx)))
    measure("citizen_get", lambda: call(api_event("GET", f"/v1/me/documents/{doc_id}",
                                                  "/v1/me/documents/{document_id}", {"document_id": doc_id},
                                                  citizen_ctx)))
    measure("professional_get_author", lambda: call(api_event(
        "GET", f"/v1/patients/{ins}/documents/{doc_id}", "/v1/patients/{ins}/documents/{document_id}",
        {"ins": ins, "document_id": doc_id}, DOCTOR_CONTEXT)))
    # A pharmacist outside the care team, with the patient's consent, reading and listing: the policy's inputs
    # (settings, blocks, care team, grants, chain head) come from one Query of the access table.
    for n in range(3):
        extra = pdf + bytes([n])
        t = call(upload_event(extra, f"bench-upload-list-{n}"))
        requests.post(t["upload"]["url"], data=t["upload"]["fields"], files={"file": ("f", extra)}, timeout=30)
    pump.drain()
    pharmacist = {"kind": "professional", "rpps": "10000000002", "profession": "21", "finess": "690000002"}
    consent = {"x-access-reason": "consent"}
    measure("professional_get_consent", lambda: call(api_event(
        "GET", f"/v1/patients/{ins}/documents/{doc_id}", "/v1/patients/{ins}/documents/{document_id}",
        {"ins": ins, "document_id": doc_id}, pharmacist, headers=consent)))
    listed = measure("professional_list_4_documents", lambda: call(api_event(
        "GET", f"/v1/patients/{ins}/documents", "/v1/patients/{ins}/documents", {"ins": ins}, pharmacist,
        headers=consent)))
    ops["professional_list_4_documents"]["documents_returned"] = len(listed["items"])
    for name in ("professional_get_consent", "professional_list_4_documents"):
        ops[name]["access_profile_reads"] = ops[name]["by_operation"].get("dynamodb:Query", 0) - (
            1 if name.startswith("professional_list") else 0)

    # Idempotency-Key on a creating POST: the same appointment without a key, with one, and its replay.
    appointment = {"start": "2031-06-10T09:30:00+02:00", "professional": "Dr Claire Martin",
                   "reminder_lead_days": 1}

    def appointment_event(key: str | None) -> dict[str, Any]:
        return api_event("POST", "/v1/me/appointments", "/v1/me/appointments", {}, citizen_ctx, appointment,
                         {"idempotency-key": key} if key else None)

    measure("appointment_create_without_key", lambda: call(appointment_event(None)))
    measure("appointment_create_with_key", lambda: call(appointment_event("bench-appointment-0001")))
    measure("appointment_create_replay", lambda: call(appointment_event("bench-appointment-0001")))
    ops["appointment_create_with_key"]["extra_calls_for_the_key"] = (
        ops["appointment_create_with_key"]["aws_calls"] - ops["appointment_create_without_key"]["aws_calls"])

    big = b"%PDF-1.7\n" + os.urandom(20 * 1024 * 1024 - 9)
    big_ticket = call(upload_event(big, "bench-upload-20mb"))
    requests.post(big_ticket["upload"]["url"], data=big_ticket["upload"]["fields"], files={"file": ("f", big)},
                  timeout=120)
    del big
    records = deps.records()
    key = f"uploads/{big_ticket['document_id']}"
    tracemalloc.start()
    baseline, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    outcome = service.verify_upload(records, key)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    pump.drain()  # the notification for the object, now a no-op

    return {
        "operations": ops,
        "scan_calls": sum(v for k, v in CALLS.items() if k.endswith(":Scan")),
        "verifier_20mb": {"outcome": outcome.value, "peak_mib_above_baseline": round((peak - baseline) / 2**20, 2),
                          "target_mib": 32},
        "targets": {"upload_init_first_call_writes": 1, "citizen_get": 2, "scan_calls": 0,
                    "idempotency_key_extra_calls": 1,
                    "access_profile_reads_per_request": 2, "cold_import_ratio": 1.3,
                    "note": "citizen_list pays 1 GetItem of the trace chain head on top of its Query and trace write"},
    }


if __name__ == "__main__":
    main()
