"""`python -m bench erasure`: AWS calls to erase one space of a typical size, and proof of completeness.

A space is seeded through the app as users fill it (a hospital's documents uploaded and verified, each read by
the holder once, so each has its plaintext download copy; the holder's own upload, deleted: a delete marker over a
version; appointments and reminders with their due entries; care team and blocks; preferences; professionals'
messages; the notifications and traces all this causes), closed with `delete_data`, then erased by the queue
consumer. Every AWS call of the erasure is counted (bench/__main__.py's botocore hook); afterwards every table is
Scanned and every bucket's versions listed (here only: the erasure itself never Scans) for anything of that person
but the tombstone."""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from typing import Any

import requests

DOCUMENTS = 10
APPOINTMENTS = 4
REMINDERS = 4
MESSAGES = 5


def run(port: int, counted: Any, api_event: Any, calls: Counter[str]) -> dict[str, Any]:
    from local import config

    config.apply(config.local_env(aws_port=port, api_port=0, prefix="mes-bench-erasure"))
    import app as api
    from functions.identity.ins import with_key
    from functions.shared.aws import client
    from functions.shared.privacy import digest
    from local import resources
    from local.pump import LambdaContext, QueuePump, erasure_consumer
    from local.seed import DOCTOR_CONTEXT, ensure_citizen

    resources.create_all()
    ins = with_key("2840675123499")
    ensure_citizen(ins, None, "bench.erasure@example.org")
    holder = {"kind": "citizen", "ins": ins, "auth_time": str(int(time.time())), "space_status": "open"}
    uploads = QueuePump(client("sqs", config.REGION), config.UPLOAD_EVENTS_QUEUE, api.on_upload_event)

    def call(event: dict[str, Any]) -> dict[str, Any]:
        response: dict[str, Any] = api.app(event, LambdaContext())
        assert response["statusCode"] < 300, response
        return dict(json.loads(response["body"]))

    def me(method: str, path: str, body: dict[str, Any] | None = None, **headers: str) -> dict[str, Any]:
        return call(api_event(method, path, path, {}, holder, body, headers))

    def declaration(data: bytes, content_type: str = "application/pdf", type_code: str = "11502-2") -> dict[str, Any]:
        return {"type_code": type_code, "title": "Bilan", "service_date": "2026-11-20", "content_type": content_type,
                "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}

    doc_ids = []
    for n in range(DOCUMENTS):
        pdf = b"%PDF-1.4\n" + f"bench erasure {n}".encode() * 200
        ticket = call(api_event("POST", f"/v1/patients/{ins}/documents", "/v1/patients/{ins}/documents",
                                {"ins": ins}, DOCTOR_CONTEXT, declaration(pdf), {"idempotency-key": f"erase-{n:04d}"}))
        requests.post(ticket["upload"]["url"], data=ticket["upload"]["fields"], files={"file": ("f", pdf)},
                      timeout=30)
        doc_ids.append(ticket["document_id"])
    uploads.drain()
    for doc_id in doc_ids:
        call(api_event("GET", f"/v1/me/documents/{doc_id}", "/v1/me/documents/{document_id}",
                       {"document_id": doc_id}, holder))
    text = b"notes personnelles\n"
    own = me("POST", "/v1/me/documents", declaration(text, "text/plain", "DOCPAT09"),
             **{"idempotency-key": "own-upload-0001"})
    requests.post(own["upload"]["url"], data=own["upload"]["fields"], files={"file": ("f", text)}, timeout=30)
    uploads.drain()
    call(api_event("DELETE", f"/v1/me/documents/{own['document_id']}", "/v1/me/documents/{document_id}",
                   {"document_id": own["document_id"]}, holder))
    for n in range(APPOINTMENTS):
        me("POST", "/v1/me/appointments", {"start": f"2031-06-{10 + n}T09:30:00+02:00", "professional": "Dr Martin",
                                           "reminder_lead_days": 1})
    for n in range(REMINDERS):
        me("POST", "/v1/me/reminders", {"label": "Renouveler l'ordonnance", "date": f"2030-01-{10 + n}",
                                        "repeat": "monthly"})
    me("POST", "/v1/me/care-team", {"rpps": "10000000002"})
    me("POST", "/v1/me/blocked-professionals", {"rpps": "10000000003"})
    me("PUT", "/v1/me/notification-preferences", {"preferences": {}})
    for n in range(MESSAGES):
        call(api_event("POST", f"/v1/patients/{ins}/messages", "/v1/patients/{ins}/messages", {"ins": ins},
                       DOCTOR_CONTEXT, {"subject": f"Résultats {n}", "text": "Bonjour"}))
    needles = [ins, digest("ins", ins), *doc_ids, own["document_id"]]
    before = _leftovers(needles)

    me("POST", "/v1/me/closure", {"delete_data": True})
    erasures = QueuePump(client("sqs", config.REGION), config.ERASURE_QUEUE, erasure_consumer)
    scans_before = sum(v for k, v in calls.items() if k.endswith(":Scan"))
    with counted() as erased:
        erasures.drain()
    scans = sum(v for k, v in calls.items() if k.endswith(":Scan")) - scans_before
    after = _leftovers(needles)
    return {
        "space": {"documents": DOCUMENTS, "own_documents_deleted": 1, "appointments": APPOINTMENTS,
                  "reminders": REMINDERS, "messages": MESSAGES, "items_before": before["items"],
                  "object_versions_before": before["versions"]},
        # the SQS receive/delete of Lambda's event source mapping are counted apart, as in the agenda bench
        "erasure_aws_calls": sum(v for k, v in erased.items() if not k.startswith("sqs:")),
        "event_source_mapping": {k: v for k, v in erased.items() if k.startswith("sqs:")},
        "erasure_by_operation": dict(sorted((k, v) for k, v in erased.items() if not k.startswith("sqs:"))),
        "erasure_scan_calls": scans,
        "left_after": after,
    }


def _leftovers(needles: list[str]) -> dict[str, Any]:
    """Items (a Scan of every table: the bench's proof only) and object versions naming the person."""
    from functions.shared.aws import client
    from functions.shared.settings import settings
    from local import config

    s = settings()
    ddb, s3 = client("dynamodb", config.REGION), client("s3", config.REGION)
    fields = sorted(type(s).model_fields)  # every table and bucket the functions are configured with
    tables = [getattr(s, f) for f in fields if f.endswith("_table") and getattr(s, f)]
    buckets = [getattr(s, f) for f in fields if f.endswith("_bucket") and getattr(s, f)]
    items = []
    for table in tables:
        for page in ddb.get_paginator("scan").paginate(TableName=table):
            items += [f"{table.removeprefix('mes-bench-erasure-')}:{i.get('status', {}).get('S', '')}"
                      for i in page["Items"] if any(n in json.dumps(i) for n in needles)]
    versions = []
    for bucket in buckets:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            versions += [v["Key"] for v in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
                         if any(n in v["Key"] for n in needles)]
    return {"items": len(items), "versions": len(versions), "which": sorted(set(items))[:5],
            "tables_scanned": len(tables), "buckets_listed": len(buckets)}
