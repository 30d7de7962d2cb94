"""The inbound-mail consumer on a real-shaped SQS batch (events/sqs/inbound_mail.json): a landed mail's object is
deleted, a refused one moved under rejected/<reason>/, an object already gone is nothing to do, and the keys
arrive URL-encoded."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from functions.messaging.mime import Envelope
from functions.messaging.worker import handle_inbound_mail
from local.pump import LambdaContext
from tests.events import load
from tests.unit.test_inbound_mail import deps_of, fresh_world

MAIL = Path(__file__).resolve().parents[2] / "events" / "mail"


@dataclass
class Objects:
    stored: dict[str, bytes]
    processed_keys: list[str] = field(default_factory=list)
    rejected_keys: list[tuple[str, str]] = field(default_factory=list)

    def fetch(self, key: str, max_bytes: int) -> tuple[bytes, Envelope] | None:
        found = self.stored.get(key)
        return None if found is None else (found[:max_bytes], Envelope())

    def processed(self, key: str) -> None:
        self.processed_keys.append(key)
        del self.stored[key]

    def rejected(self, key: str, reason: str) -> None:
        self.rejected_keys.append((key, reason))
        del self.stored[key]


def test_landed_mail_is_deleted_refused_mail_kept_under_its_reason_and_a_gone_object_skipped() -> None:
    world = fresh_world()
    objects = Objects({"incoming/0d2f+cardio-7781": (MAIL / "html_attachment.eml").read_bytes(),
                       "incoming/spoof-1": (MAIL / "untrusted.eml").read_bytes()})
    result = handle_inbound_mail(deps_of(world), objects, "mes-test-inbound-mail", load("sqs/inbound_mail.json"),
                                 LambdaContext())
    assert result == {"batchItemFailures": []}
    assert objects.processed_keys == ["incoming/0d2f+cardio-7781"]
    assert objects.rejected_keys == [("incoming/spoof-1", "untrusted_sender")]
    assert len(world.messages) == 1


def test_a_notification_from_another_bucket_is_ignored() -> None:
    world = fresh_world()
    objects = Objects({"incoming/spoof-1": (MAIL / "untrusted.eml").read_bytes()})
    handle_inbound_mail(deps_of(world), objects, "another-bucket", load("sqs/inbound_mail.json"), LambdaContext())
    assert objects.processed_keys == [] and objects.rejected_keys == [] and world.messages == []
