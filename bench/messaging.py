"""Inbound mail bench (issue 11): seed mailboxes, deliver raw MIME mails (0..3 attachments each) through the real
path (PutObject under incoming/ of the inbound-mail bucket -> S3 notification -> SQS -> `on_inbound_mail`) against
the moto server, then deliver every mail a second time two ways: every S3 event redelivered by SQS (the object is
gone by then: nothing to do), and every mail written again at the same key (a relay's retry: a new event for an
object that is there again, so the Message-ID once-only key must refuse it). Reports AWS calls per message by
service and operation, duplicates stored (0), losses (0) and the estimated cost per million messages.

Seeding writes the space items straight to the table (BatchWriteItem), not through the API; counting starts after
it. The relay's PutObject of each mail is counted apart (`relay`), and so are Lambda's event source mapping calls
(SQS ReceiveMessage/DeleteMessageBatch, made here by the bench's pump); both are priced in the estimate.
Attachments are 1-3 KB PDFs so moto holds 50 000 mails in memory: the calls do not depend on the size (a mail of N
attachments is N PutObject whatever their size); S3 storage and transfer are not priced.

The mailboxes' contacts follow the national mix of the accounts bench: 70 % have a personal e-mail, and one in ten
of those switched NOTIF_MESSAGE's e-mail off (the copy of the switches on the space item, as the preferences'
transaction writes it), so the new-message e-mail (a claim UpdateItem + one SES send) is in the figures.

What is the harness's and not the product's is kept out of the run's cost: the mails are built once per attachment
count and stamped per mail (bytes.replace), and the service's log level is WARNING while it runs (the consumer's
JSON INFO line per mail is the Lambda's, billed by CloudWatch Logs, not by this bench)."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from typing import Any

from bench.__main__ import ITEMS, counted
from bench.agenda import Phase, _drain

SERVICES = ("dynamodb", "s3", "sqs", "ses", "kms")
PRICES_AS_OF = "2025-01 (list prices as known, eu-west-3, USD; not fetched by the bench)"
PRICES: dict[str, float] = {
    "dynamodb_write_request_unit_per_million": 0.7423,
    "dynamodb_read_request_unit_per_million": 0.1485,
    "s3_put_copy_per_thousand": 0.0053,
    "s3_get_per_thousand": 0.00042,
    "sqs_request_per_million": 0.40,
    "kms_request_per_ten_thousand": 0.03,
    "ses_email_per_thousand": 0.10,
    "lambda_request_per_million": 0.20,
    "lambda_gb_second": 0.0000166667,
}
# Lambda duration is not measured against moto: 25 ms per AWS call plus 5 ms of CPU per mail (MIME parse, sanitiser,
# inspection), at the consumer's 1024 MB.
LAMBDA_SECONDS_PER_CALL = 0.025
LAMBDA_SECONDS_PER_MAIL = 0.005
LAMBDA_GB = 1.0
CHUNK = 500  # mails written, then drained, at a time (bounded queue depth)
SAMPLE = 500  # mailboxes whose messages are counted one by one (a Query each)
WITH_EMAIL = 0.7  # share of the mailboxes whose space has a personal address (accounts bench: 70 % e-mail)
EMAIL_OFF = 0.1  # share of those whose holder switched NOTIF_MESSAGE's e-mail off


def _seed(mailboxes: int, rng: random.Random) -> tuple[list[str], set[str]]:
    """The spaces, and which of them are e-mailed a new-message notice (an address and the switch on)."""
    from datetime import UTC, datetime

    from functions.accounts.storage import SpaceItem, space_key, switches_json
    from functions.identity.ins import with_key
    from functions.notifications.models import Channels, NotificationPreferences, PreferenceCode

    now = datetime(2032, 1, 1, tzinfo=UTC)
    off = switches_json(NotificationPreferences(channels={PreferenceCode.NOTIF_MESSAGE: Channels(email=False)}))
    out, emailed = [], set()
    with SpaceItem.batch_write() as spaces:
        for n in range(mailboxes):
            ins = with_key(f"{rng.choice('12')}{rng.randint(30, 99):02d}{rng.randint(1, 12):02d}75{n:06d}")
            email = f"p{n}@example.org" if rng.random() < WITH_EMAIL else None
            switches = off if email and rng.random() < EMAIL_OFF else None
            spaces.save(SpaceItem(space_key(ins), ins=ins, status="open", created_at=now, email=email,
                                  switches=switches))
            out.append(ins)
            if email and switches is None:
                emailed.add(ins)
    return out, emailed


def _sender(i: int) -> str:
    return f"dr{i % 97}@hopital{i % 13}.mssante.fr"


def _message_id(i: int) -> str:
    return f"<bench-{i}@hopital{i % 13}.mssante.fr>"


# Placeholders of the pre-built mails, stamped per mail: the sender's number, its hospital, the mail, the mailbox.
_DR, _HOSPITAL, _MAIL, _BOX = b"DRXQZ", b"HPXQZ", b"MLXQZ", b"999999999999999"


class Mails:
    """Each mail's bytes from one template per attachment count (0..3), built once with `email.message` and
    stamped by bytes.replace: the same mail as building it whole, at a fraction of the harness's CPU."""

    def __init__(self, rng: random.Random) -> None:
        self._templates = [self._template(n, rng) for n in range(4)]

    @staticmethod
    def _template(attachments: int, rng: random.Random) -> bytes:
        mail = EmailMessage()
        mail["From"] = f"Dr Praticien {_DR.decode()} <dr{_DR.decode()}@hopital{_HOSPITAL.decode()}.mssante.fr>"
        mail["To"] = f"{_BOX.decode()}@patient.mssante.fr"
        mail["Subject"] = f"Compte rendu {_MAIL.decode()}"
        mail["Message-ID"] = f"<bench-{_MAIL.decode()}@hopital{_HOSPITAL.decode()}.mssante.fr>"
        mail.set_content("Bonjour,\n\nVeuillez trouver ci-joint votre compte rendu.\n\nCordialement\n")
        for a in range(attachments):
            data = b"%PDF-1.4\n" + rng.randbytes(rng.randint(1024, 3072))
            mail.add_attachment(data, maintype="application", subtype="pdf", filename=f"document-{a + 1}.pdf")
        raw = bytes(mail)
        body = raw.partition(b"\n\n")[2]
        assert not any(p in body for p in (_DR, _HOSPITAL, _MAIL, _BOX)), "a placeholder in the attachments' bytes"
        return raw

    def mail(self, i: int, ins: str, attachments: int) -> bytes:
        """Mail `i` to `ins` (From `_sender(i)`, Message-ID `_message_id(i)`)."""
        raw = self._templates[attachments]
        for placeholder, value in ((_DR, i % 97), (_HOSPITAL, i % 13), (_MAIL, i)):
            raw = raw.replace(placeholder, str(value).encode())
        return raw.replace(_BOX, ins.encode())


def run(port: int, api_port: int, mailboxes: int = 10_000, messages: int = 50_000) -> dict[str, Any]:
    import app as api
    from functions import deps
    from functions.messaging import inbound
    from functions.messaging.inbound import message_id_for
    from functions.messaging.storage import MessageItem
    from functions.notifications import delivery
    from functions.shared.aws import client
    from functions.shared.observability import logger
    from local import config, resources

    config.apply(config.local_env(aws_port=port, api_port=api_port, prefix=f"mes-bench-mail-{mailboxes}"))
    resources.create_all()
    rng = random.Random(mailboxes)
    started = time.perf_counter()
    boxes, emailed = _seed(mailboxes, rng)
    seed_seconds = time.perf_counter() - started
    mails = Mails(rng)
    outcomes: Counter[str] = Counter()

    def tally(metric: str, value: int = 1, **dimensions: str) -> None:
        outcomes.update([f"{metric}:{next(iter(dimensions.values()), '')}"] * value)

    quiet = _quiet(logger, (inbound, delivery), tally)
    quiet.__enter__()
    s3, sqs = client("s3", config.REGION), client("sqs", config.REGION)
    bucket = deps.inbound_mail_bucket()
    url = sqs.get_queue_url(QueueName=config.INBOUND_MAIL_QUEUE)["QueueUrl"]
    plan = [(i, boxes[rng.randrange(mailboxes)], rng.choice((0, 0, 1, 1, 2, 3))) for i in range(messages)]
    first, relay, bodies = Phase(), Counter[str](), list[str]()
    items_before = Counter(ITEMS)
    run_started = time.perf_counter()
    try:
        for start in range(0, messages, CHUNK):
            for i, ins, attachments in plan[start:start + CHUNK]:
                with counted() as put:
                    s3.put_object(Bucket=bucket, Key=f"incoming/bench-{i}", Body=mails.mail(i, ins, attachments))
                relay.update(put)
            _drain(sqs, url, api.on_inbound_mail, first, bodies)
        items = Counter({k: v - items_before.get(k, 0) for k, v in ITEMS.items() if v - items_before.get(k, 0)})
        run_seconds = time.perf_counter() - run_started
        delivered_first = outcomes["InboundMail:delivered"]
        # every S3 event again, as SQS redelivers after a lost delete (the object was deleted on success)
        sqs_redelivery = Phase()
        for start in range(0, len(bodies), 10):
            sqs.send_message_batch(QueueUrl=url, Entries=[
                {"Id": str(n), "MessageBody": b} for n, b in enumerate(bodies[start:start + 10])])
            if start % (CHUNK * 2) == 0:
                _drain(sqs, url, api.on_inbound_mail, sqs_redelivery)
        _drain(sqs, url, api.on_inbound_mail, sqs_redelivery)
        new_after_redelivery = outcomes["InboundMail:delivered"] - delivered_first
        # every mail written again at its key (a relay's retry): the object is there, the once-only key refuses it
        relay_retry = Phase()
        for start in range(0, messages, CHUNK):
            for i, ins, attachments in plan[start:start + CHUNK]:
                s3.put_object(Bucket=bucket, Key=f"incoming/bench-{i}", Body=mails.mail(i, ins, attachments))
            _drain(sqs, url, api.on_inbound_mail, relay_retry)
    finally:
        quiet.__exit__(None, None, None)
    # losses: every mail's once-only marker (its key is deterministic), 100 keys a BatchGetItem
    keys = [(ins, f"R#{message_id_for(ins, _sender(i), _message_id(i))}") for i, ins, _ in plan]
    landed = {(item.holder, item.sk) for item in MessageItem.batch_get(keys)}
    # duplicates: the messages of a sample of mailboxes, one Query each, against what was sent to them
    receiving = sorted({ins for _, ins, _ in plan})
    sample = rng.sample(receiving, min(SAMPLE, len(receiving)))
    sent_to = Counter(ins for _, ins, _ in plan)
    stored = {ins: sum(1 for item in MessageItem.query(ins) if item.kind == "M") for ins in sample}
    with _quiet(logger, (inbound, delivery), lambda *_, **__: None):  # after the counts above: these land too
        by_attachments = _dynamodb_by_attachments([b for b in boxes if b not in emailed], rng, mails)
    n = max(delivered_first, 1)

    def per(counter: Counter[str]) -> dict[str, float]:
        return {k: round(v / n, 4) for k, v in sorted(counter.items())}

    attachments_total = sum(a for _, _, a in plan)
    return {
        "mailboxes": mailboxes, "messages": messages, "attachments": attachments_total,
        "mailboxes_emailed_a_notice": round(len(emailed) / max(mailboxes, 1), 3),
        "attachments_per_message": round(attachments_total / max(messages, 1), 3),
        "delivered": delivered_first,
        "calls_per_message": {
            "consumer_total": round(sum(first.calls.values()) / n, 4),
            "consumer_by_service": {s: round(v / n, 4) for s, v in _by_service(first.calls).items()},
            "consumer_by_operation": per(first.calls),
            "relay_put_object": per(relay),
            "event_source_mapping": per(first.event_source_mapping),
            "dynamodb_by_attachment_count_without_email": by_attachments,
        },
        "scan_calls": sum(v for p in (first, sqs_redelivery, relay_retry) for k, v in p.calls.items()
                          if k.endswith(":Scan")),
        "failed_sqs_records": first.failed_records + sqs_redelivery.failed_records + relay_retry.failed_records,
        "after_sqs_redelivery_of_every_event": {
            "events": len(bodies), "calls": dict(sorted(sqs_redelivery.calls.items())),
            "new_messages": new_after_redelivery},
        "after_relay_retry_of_every_mail": {
            "duplicates_recognised": outcomes["InboundMail:duplicate"],
            "calls_per_mail": round(sum(relay_retry.calls.values()) / max(messages, 1), 4)},
        "losses": len(set(keys) - landed),
        "duplicates_stored": sum(max(stored[ins] - sent_to[ins], 0) for ins in sample),
        "duplicates_checked_on_mailboxes": len(sample),
        "refused": {k: v for k, v in outcomes.items() if k.startswith("InboundMailRefused")},
        "new_message_emails": {"sent": outcomes["EmailsSent:"], "failed": outcomes["EmailsFailed:"]},
        "billed_units_first_run": dict(sorted(items.items())),
        "cost_estimate": _cost(n, first, relay, items, attachments_total),
        "seconds": {"seed": round(seed_seconds, 1), "first_delivery": round(run_seconds, 1),
                    "note": "wall clock against moto; not a latency figure"},
    }


@contextmanager
def _quiet(logger: Any, counting: tuple[Any, ...], tally: Any) -> Iterator[None]:
    """The harness's cost, not the product's: the service's log level WARNING (no JSON INFO line per mail) and
    the modules' EMF counters (`count`, a stdout line each) tallied in memory instead, while the bench runs."""
    level = logger.log_level
    originals = [vars(module)["count"] for module in counting]
    logger.setLevel("WARNING")
    for module in counting:
        setattr(module, "count", tally)  # noqa: B010
    try:
        yield
    finally:
        logger.setLevel(level)
        for module, original in zip(counting, originals, strict=True):
            setattr(module, "count", original)  # noqa: B010


def _by_service(counter: Counter[str]) -> dict[str, int]:
    out: Counter[str] = Counter()
    for k, v in counter.items():
        out[k.split(":")[0]] += v
    return {s: out.get(s, 0) for s in SERVICES}


def _dynamodb_by_attachments(boxes: list[str], rng: random.Random, mails: Mails) -> dict[str, float]:
    """DynamoDB calls per mail for mails of exactly 0, 1, 2 and 3 attachments (20 each, after the checks, to
    mailboxes that are not e-mailed): the same for every count."""
    import app as api
    from functions import deps
    from functions.shared.aws import client
    from local import config

    s3, sqs = client("s3", config.REGION), client("sqs", config.REGION)
    url = sqs.get_queue_url(QueueName=config.INBOUND_MAIL_QUEUE)["QueueUrl"]
    out = {}
    for attachments in range(4):
        phase = Phase()
        for j in range(20):
            i = 10_000_000 + attachments * 100 + j
            s3.put_object(Bucket=deps.inbound_mail_bucket(), Key=f"incoming/bench-{i}",
                          Body=mails.mail(i, boxes[rng.randrange(len(boxes))], attachments))
        _drain(sqs, url, api.on_inbound_mail, phase)
        out[str(attachments)] = round(_by_service(phase.calls)["dynamodb"] / 20, 3)
    return out


def _cost(n: int, first: Phase, relay: Counter[str], items: Counter[str], attachments: int) -> dict[str, Any]:
    """USD per million delivered messages from the first delivery's counts: DynamoDB on-demand (2 WRU per
    transactional item up to 1 KB, 4 above; 1 RRU per consistent GetItem, 0.5 per 4 KB eventually consistent Query
    read), S3 PUT/COPY and GET requests (the relay's PUT included; DELETE is free), SQS requests (S3's send, the
    poller's receive and delete), KMS (one GenerateDataKey per SSE-KMS object without a bucket key: each
    attachment; the inbound-mail bucket uses a bucket key, its calls are negligible), Lambda invocations and
    GB-seconds (estimated, see LAMBDA_*), SES per new-message e-mail sent (no bounce in this mix)."""
    p = PRICES
    calls = first.calls
    over = items["dynamodb:transactional_item_writes_over_1kb"]
    wru = (2 * items["dynamodb:transactional_item_writes"] + 2 * over) / n
    rru = (calls["dynamodb:GetItem"] + 0.5 * items["dynamodb:query_4kb_reads"]) / n
    puts = (calls["s3:PutObject"] + calls["s3:CopyObject"] + relay["s3:PutObject"]) / n
    gets = calls["s3:GetObject"] / n
    esm = first.event_source_mapping
    sqs = (n + esm["sqs:ReceiveMessage"] + esm["sqs:DeleteMessageBatch"]) / n  # S3's SendMessage: one per mail
    kms = attachments / n
    emails = items["ses:emails"] / n
    invocations = first.invocations / n
    gb_s = LAMBDA_GB * (sum(calls.values()) * LAMBDA_SECONDS_PER_CALL + n * LAMBDA_SECONDS_PER_MAIL) / n
    parts = {
        "dynamodb": (wru * p["dynamodb_write_request_unit_per_million"]
                     + rru * p["dynamodb_read_request_unit_per_million"]),
        "s3": puts * p["s3_put_copy_per_thousand"] * 1000 + gets * p["s3_get_per_thousand"] * 1000,
        "sqs": sqs * p["sqs_request_per_million"],
        "kms": kms * p["kms_request_per_ten_thousand"] * 100,
        "ses": emails * p["ses_email_per_thousand"] * 1000,
        "lambda": invocations * p["lambda_request_per_million"] + gb_s * 1e6 * p["lambda_gb_second"],
    }
    usd = {k: round(v, 3) for k, v in parts.items()} | {"total": round(sum(parts.values()), 2)}
    return {
        "usd_per_million_messages": usd,
        "units_per_message": {"dynamodb_write_request_units": round(wru, 3),
                              "dynamodb_read_request_units": round(rru, 3), "s3_put_copy": round(puts, 3),
                              "s3_get": round(gets, 3), "sqs_requests": round(sqs, 3), "kms_requests": round(kms, 3),
                              "ses_emails": round(emails, 3),
                              "lambda_invocations": round(invocations, 4), "lambda_gb_seconds": round(gb_s, 5)},
        "prices": {"as_of": PRICES_AS_OF, **p},
        "assumptions": _cost.__doc__,
    }
