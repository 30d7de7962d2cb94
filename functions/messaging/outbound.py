"""Adapters of `OutboundMail` (functions/messaging/ports.py), chosen by configuration in functions/deps.py:

- `SesOutbound` (a stage): SES v2 SendEmail with `Content.Raw`, From the patient's mailbox
  `<INS>@patient.mssante.fr` (the domain is the SES identity). SES has no idempotency key, so the once-only key
  is claimed first (a conditional put of `SENT#<once key>` in the holder's partition of messaging's table). SES
  answering an error means nothing left: the claim is released and the retry pass may send again. A crash or a
  timeout between the claim and SES's answer keeps the claim: that mail is not sent twice, at the price of being
  possibly lost (at most once past the claim, as the reminders' e-mails).
- `BucketOutbox` (local): the raw `.eml` into the bucket `MES_OUTBOX_BUCKET` under `<date>/<once key>.eml`, the
  date being the mail's own `Date` (so a retry on another day finds the same key), written with
  `If-None-Match: *`: the bucket key is the once-only mark. `python -m local outbox` lists them.
"""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.utils import parsedate_to_datetime
from typing import Any

from botocore.exceptions import ClientError

from functions.messaging.ports import SentMarks
from functions.shared.clock import PARIS

ONCE_KEY = re.compile(r"[A-Za-z0-9._-]{1,128}")


def _checked(once_key: str) -> str:
    if ONCE_KEY.fullmatch(once_key) is None:
        raise ValueError("once_key: 1-128 characters of [A-Za-z0-9._-]")
    return once_key


class SesOutbound:
    def __init__(self, sesv2: Any, marks: SentMarks) -> None:
        self._ses = sesv2
        self._marks = marks

    def send(self, raw: bytes, sender: str, recipients: list[str], once_key: str) -> None:
        holder = sender.split("@", 1)[0]
        if not recipients or not self._marks.claim(holder, _checked(once_key)):
            return
        try:
            self._ses.send_email(FromEmailAddress=sender, Destination={"ToAddresses": recipients},
                                 Content={"Raw": {"Data": raw}})
        except ClientError:
            self._marks.release(holder, once_key)
            raise


def outbox_key(raw: bytes, once_key: str) -> str:
    """`<YYYY-MM-DD>/<once key>.eml`, the day (Paris) of the mail's `Date` header."""
    date = message_from_bytes(raw, policy=policy.default)["Date"]
    day = parsedate_to_datetime(str(date)).astimezone(PARIS).date() if date else None
    return f"{day.isoformat() if day else 'undated'}/{_checked(once_key)}.eml"


class BucketOutbox:
    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket

    def send(self, raw: bytes, sender: str, recipients: list[str], once_key: str) -> None:
        if not recipients:
            return
        try:
            self._s3.put_object(Bucket=self._bucket, Key=outbox_key(raw, once_key), Body=raw,
                                ContentType="message/rfc822", IfNoneMatch="*",
                                Metadata={"envelope-from": sender, "envelope-to": ",".join(recipients)})
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "PreconditionFailed":
                raise
