"""Opening by default at scale (`python -m bench accounts [n ...]`; `make bench` runs 200 000 and 800 000): a
beneficiaries file of n people (e-mail, SMS and letter mixed, 5 % minors attached to an adult of the file, 0.5 % bad
lines) dropped into the intake bucket of a moto server; the S3 notification, the split and every chunk task played
through the accounts-tasks queue as Lambda's event source mapping would (its receive/delete calls counted apart, as
`event_source_mapping`); then the same file dropped again, then every chunk task redelivered, then the daily
creation job at the due date, run twice. Counts AWS calls (and billed items) per space informed and per space
opened, Scan calls, duplicates (a second `space.informed`/`space.created` trace, a second e-mail to one address, a
letter twice) and losses (an accepted line without its space, a due space not opened).

Counting is by botocore hook (bench/__main__.py); moto's speed says nothing about AWS's."""

from __future__ import annotations

import json
import random
import resource
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date
from typing import Any

from bench.__main__ import CALLS, EMAILED, ITEMS, counted
from bench.agenda import Phase, _by_service, _drain
from bench.checkpoint import Checkpoints

SAMPLE = 500


def _file(n: int, rng: random.Random) -> tuple[bytes, list[str], int]:
    """The file, the INS of its accepted lines, and how many letters/SMS it should produce."""
    from functions.identity.ins import with_key

    lines: list[str] = []
    accepted: list[str] = []
    adults: list[str] = []
    for i in range(n):
        if i % 200 == 199:
            lines.append('{"ins": "not an ins"}')
            continue
        sex = 1 + i % 2
        ins = with_key(f"{sex}{80 + i % 19:02d}{1 + i % 12:02d}75{i:06d}")
        person: dict[str, Any] = {"ins": ins, "last_name": "Martin", "first_name": "Camille", "sex": sex,
                                  "birth_date": f"19{80 + i % 19}-{1 + i % 12:02d}-15"}
        if i % 20 == 10 and adults:
            person["birth_date"] = "2015-03-01"
            person["legal_representative_ins"] = rng.choice(adults)
        kind = i % 10
        if kind < 7:
            person["email"] = f"p{i}@bench.example"
        elif kind < 9:
            person["mobile"] = f"+336{i:08d}"
        else:
            person["postal_address"] = {"lines": [f"{i % 90 + 1} rue de la Paix"], "postal_code": "75002",
                                        "city": "Paris"}
        if "legal_representative_ins" not in person:
            adults.append(ins)
        lines.append(json.dumps(person))
        accepted.append(ins)
    return ("\n".join(lines) + "\n").encode(), accepted, n


def _traces(ins: list[str], action: str) -> Counter[str]:
    from functions.journal.storage import TraceItem

    seen: Counter[str] = Counter()
    for i in ins:
        for item in TraceItem.query(i, TraceItem.sk.startswith("S#")):
            if item.action == action:
                seen[i] += 1
    return seen


def _spaces(ins: list[str]) -> Iterator[Any]:
    """The spaces of these beneficiaries, read back 100 at a time (outside the counted phases)."""
    from functions.accounts.storage import SpaceItem, space_key

    for start in range(0, len(ins), 100):
        yield from SpaceItem.batch_get([space_key(i) for i in ins[start:start + 100]])


def _statuses(ins: list[str]) -> Counter[str]:
    found: Counter[str] = Counter(item.status or "none" for item in _spaces(ins))
    found["missing"] = len(ins) - sum(found.values())
    return found


def _creation_days(ins: list[str]) -> list[date]:
    """The days the import set for creation, read from the informed spaces: the day the creation job runs for.
    Not "six weeks from now", which moves if the run is resumed on a later day (or crosses a Paris midnight)."""
    return sorted({date.fromisoformat(item.creation_due) for item in _spaces(ins)
                   if item.status == "informed" and item.creation_due})


def _printed() -> int:
    from functions.shared.aws import client
    from functions.shared.settings import settings

    s3 = client("s3", settings().region)
    total = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=settings().print_bucket):
        for obj in page.get("Contents", []):
            body = s3.get_object(Bucket=settings().print_bucket, Key=obj["Key"])["Body"].read()
            total += body.count(b"\n")
    return total


def _per(counter: Counter[str], n: int) -> float:
    return round(sum(counter.values()) / max(n, 1), 4)


def _milestone(n: int, phase: str, started: float, **figures: Any) -> None:
    """One JSON line on stderr as each phase ends: a run at 800 000 takes hours, and one that dies (a session's
    end, memory) still leaves the figures of the phases it finished, with the wall time and peak memory so far."""
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(json.dumps({"milestone": phase, "lines": n, "seconds": round(time.perf_counter() - started, 1),
                      "peak_rss_mb": peak_mb, **figures}), file=sys.stderr, flush=True)


def run_size(n: int, port: int, api_port: int, checkpoints: Checkpoints | None = None) -> dict[str, Any]:
    """The phases in order, as steps; with `checkpoints`, the state is saved between task invocations (every
    `interval`) and a run started again goes on from the last save (bench/checkpoint.py)."""
    from local import config, resources

    config.apply(config.local_env(aws_port=port, api_port=api_port, prefix=f"mes-bench-acc-{n}"))
    ck = checkpoints or Checkpoints(None, "", 0)
    st = ck.load()
    if st is None:
        resources.create_all()
    import app as api
    from functions import deps
    from functions.accounts.opening import dispatch_creation
    from functions.shared import privacy
    from functions.shared.aws import client

    rng = random.Random(n)
    data, accepted, _ = _file(n, rng)
    s3, sqs = client("s3", config.REGION), client("sqs", config.REGION)
    url = sqs.get_queue_url(QueueName=config.ACCOUNTS_TASK_QUEUE)["QueueUrl"]
    if st is None:
        st = {"step": 0, "rng": rng, "resumed": 0, "elapsed": 0.0, "bodies": [],
              "scans_before": sum(v for k, v in CALLS.items() if k.endswith(":Scan")),
              "emails_before": sum(EMAILED.values()), "items_before": Counter(ITEMS),
              "first": Phase(), "again": Phase(), "redelivery": Phase(), "creation": Phase(), "rerun": Phase()}
    else:  # the counters as they were at the save, and what a warm Lambda would have cached (no call counted)
        for counter, saved in ((CALLS, st["calls"]), (ITEMS, st["items"]), (EMAILED, st["emailed"])):
            counter.clear()
            counter.update(saved)
        rng = st["rng"]
        st["resumed"] += 1
        privacy.digest("warm", "up")
        deps.opening()
    started = time.perf_counter() - st["elapsed"]

    def save_point() -> None:
        if ck.due():
            st.update(elapsed=time.perf_counter() - started, rng=rng, calls=Counter(CALLS), items=Counter(ITEMS),
                      emailed=Counter(EMAILED))
            ck.save(st)

    def drain(phase: Phase, keep: bool = False) -> None:
        _drain(sqs, url, api.on_accounts_task, phase, st["bodies"] if keep else None, after_each=save_point)

    def put_file() -> None:
        s3.put_object(Bucket=deps.intake_bucket(), Key="intake/beneficiaires.ndjson", Body=data)

    def after_first_drop() -> None:
        st["import_seconds"] = time.perf_counter() - started
        st["import_items"] = Counter({k: v - st["items_before"].get(k, 0) for k, v in ITEMS.items()})
        st["emails_first"] = sum(EMAILED.values()) - st["emails_before"]
        st["statuses"] = _statuses(accepted)
        st["printed_first"] = _printed()
        st["bodies_first"] = list(st["bodies"])
        _milestone(n, "first drop", started, spaces_informed=st["statuses"].get("informed", 0),
                   calls_per_space_informed=_per(st["first"].calls, st["statuses"].get("informed", 0)),
                   failed_records=st["first"].failed_records, missing=st["statuses"].get("missing", 0),
                   emails=st["emails_first"], print_records=st["printed_first"],
                   scans=sum(v for k, v in CALLS.items() if k.endswith(":Scan")) - st["scans_before"])

    def redeliver() -> None:
        chunk_bodies = [b for b in st["bodies_first"] if '"intake-chunk"' in b]
        st["chunks"] = len(chunk_bodies)
        for start in range(0, len(chunk_bodies), 10):
            sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": b}
                                                          for i, b in enumerate(chunk_bodies[start:start + 10])])

    def after_redelivery() -> None:
        st["emails_after"] = sum(EMAILED.values()) - st["emails_before"]
        st["most_to_one"] = max(EMAILED.values(), default=0)
        st["sample"] = rng.sample(accepted, min(SAMPLE, len(accepted)))
        st["informed_traces"] = _traces(st["sample"], "space.informed")
        _milestone(n, "re-drop and redelivery", started, re_import_calls=sum(st["again"].calls.values()),
                   redelivery_calls=sum(st["redelivery"].calls.values()),
                   emails_added=st["emails_after"] - st["emails_first"],
                   informed_twice_in_sample=sum(1 for v in st["informed_traces"].values() if v > 1))

    def dispatch() -> None:
        st["due_days"] = _creation_days(accepted)
        with counted() as dispatch_calls:
            for day in st["due_days"]:
                dispatch_creation(deps.opening(), day)
        st["creation"].calls.update(dispatch_calls)

    def after_creation() -> None:
        st["opened_statuses"] = _statuses(accepted)
        for day in st["due_days"]:
            dispatch_creation(deps.opening(), day)

    def after_rerun() -> None:
        st["created_traces"] = _traces(st["sample"], "space.created")
        opened = st["opened_statuses"].get("open", 0)
        _milestone(n, "creation", started, spaces_opened=opened,
                   calls_per_space_opened=_per(st["creation"].calls, opened),
                   rerun_calls=sum(st["rerun"].calls.values()))

    steps = [put_file, lambda: drain(st["first"], keep=True), after_first_drop,
             put_file, lambda: drain(st["again"]), redeliver, lambda: drain(st["redelivery"]), after_redelivery,
             dispatch, lambda: drain(st["creation"]), after_creation, lambda: drain(st["rerun"]), after_rerun]
    while st["step"] < len(steps):
        steps[st["step"]]()
        st["step"] += 1
        if st["step"] < len(steps):
            save_point()
    ck.done()
    first, again, redelivery, creation, rerun = (st[k] for k in ("first", "again", "redelivery", "creation", "rerun"))
    statuses, opened_statuses, items = st["statuses"], st["opened_statuses"], st["import_items"]
    informed, opened = statuses.get("informed", 0), opened_statuses.get("open", 0)
    emails_first, emails_after, most_to_one = st["emails_first"], st["emails_after"], st["most_to_one"]
    printed_first, import_seconds = st["printed_first"], st["import_seconds"]
    informed_traces, created_traces, sample = st["informed_traces"], st["created_traces"], st["sample"]
    scans = sum(v for k, v in CALLS.items() if k.endswith(":Scan")) - st["scans_before"]

    return {
        "lines": n,
        "accepted_lines": len(accepted),
        "spaces_informed": informed,
        "import": {
            "calls_per_space_informed": _per(first.calls, informed),
            "by_operation_per_space": {k: round(v / max(informed, 1), 4) for k, v in sorted(first.calls.items())},
            "by_service_per_space": {k: round(v / max(informed, 1), 4)
                                     for k, v in _by_service(first.calls).items()},
            "tasks": first.invocations,
            "failed_records": first.failed_records,
            "billed_items": {k: v for k, v in items.items() if v},
            "event_source_mapping": dict(first.event_source_mapping),
            "wall_seconds_against_moto": round(import_seconds, 1),
        },
        "checkpoint_resumes": st["resumed"],
        "emails": {"sent_first_drop": emails_first, "sent_in_total": emails_after, "most_to_one_address": most_to_one},
        "print_records": {"after_first_drop": printed_first, "after_redrop_and_redelivery": _printed()},
        "re_import": {"calls": sum(again.calls.values()), "calls_per_line": _per(again.calls, n)},
        "redelivery_of_every_chunk": {"calls": sum(redelivery.calls.values()),
                                      "chunks": st["chunks"]},
        "creation_job": {
            "spaces_opened": opened,
            "calls_per_space_opened": _per(creation.calls, opened),
            "by_operation_per_space": {k: round(v / max(opened, 1), 4) for k, v in sorted(creation.calls.items())},
            "tasks": creation.invocations,
            "rerun_calls": sum(rerun.calls.values()),
        },
        "scan_calls": scans,
        "duplicates": {
            "spaces_informed_twice_in_sample": sum(1 for v in informed_traces.values() if v > 1),
            "spaces_created_twice_in_sample": sum(1 for v in created_traces.values() if v > 1),
            "emails_after_redrop_and_redelivery": emails_after - emails_first,
            "print_records_after_redrop_and_redelivery": _printed() - printed_first,
            "sample": len(sample),
        },
        "losses": {"accepted_without_space": statuses.get("missing", 0),
                   "informed_not_opened": len(accepted) - opened,
                   "emails_expected_minus_sent": sum(1 for i in range(n) if i % 200 != 199 and i % 10 < 7)
                   - emails_first},
    }


def run(port: int, api_port: int, sizes: tuple[int, ...] = (200_000, 800_000)) -> dict[str, Any]:
    results: dict[str, Any] = {str(n): run_size(n, port, api_port, Checkpoints.configured(f"accounts-{n}"))
                               for n in sizes}
    worst_import = max(r["import"]["calls_per_space_informed"] for r in results.values())
    worst_creation = max(r["creation_job"]["calls_per_space_opened"] for r in results.values())
    results = dict(results)
    results["summary"] = {
        "targets": {"import_calls_per_space": 0.1, "scan_calls": 0, "duplicates": 0, "losses": 0},
        "met": {
            "import_calls_per_space": worst_import <= 0.1,
            "scan_calls": all(r["scan_calls"] == 0 for r in results.values() if "lines" in r),
            "no_duplicates": all(v == 0 for r in results.values() if "lines" in r
                                 for k, v in r["duplicates"].items() if k != "sample"),
            "no_losses": all(v == 0 for r in results.values() if "lines" in r for v in r["losses"].values()),
        },
        "worst_calls_per_space": {"import": worst_import, "creation_job": worst_creation},
        "excluded": "event_source_mapping (Lambda's SQS poller) and the insurer's PutObject of the file",
    }
    return results
