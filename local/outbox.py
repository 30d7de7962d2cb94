"""`python -m local outbox [--show <once key>]`: the mail that left the patients' mailboxes locally, as the
outbox bucket captured it (functions/messaging/outbound.BucketOutbox): one `.eml` per mail under
`<date>/<once key>.eml`, a reply's once key being its message id and a read receipt's `mdn-<message id>`."""

from __future__ import annotations

from dataclasses import dataclass
from email import message_from_bytes, policy
from typing import Any


@dataclass(frozen=True)
class Captured:
    key: str
    date: str
    sender: str
    to: str
    subject: str

    @property
    def once_key(self) -> str:
        return self.key.rsplit("/", 1)[-1].removesuffix(".eml")

    def line(self) -> str:
        return f"{self.date}  {self.sender} -> {self.to}  {self.subject!r}  {self.once_key}"


def _objects(s3: Any, bucket: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys.extend(o["Key"] for o in page.get("Contents", []))
    return keys


def captured(s3: Any, bucket: str) -> list[Captured]:
    """Every captured mail, oldest day first (the key's date, then the mail's)."""
    found = []
    for key in _objects(s3, bucket):
        mail = message_from_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read(), policy=policy.default)
        found.append(Captured(key=key, date=str(mail["Date"] or ""), sender=str(mail["From"] or ""),
                              to=str(mail["To"] or ""), subject=str(mail["Subject"] or "")))
    return sorted(found, key=lambda c: c.key)


def raw_of(s3: Any, bucket: str, once_key: str) -> bytes | None:
    """The `.eml` of one once key, whatever its day; None when nothing was captured under it."""
    for key in _objects(s3, bucket):
        if key.rsplit("/", 1)[-1] == f"{once_key}.eml":
            body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            return body
    return None
