"""The inbound-mail bucket (`MES_INBOUND_MAIL_BUCKET`), where SES receipt rules, an MSSanté operator relay or the
local SMTP listener write raw mails under `incoming/`. The SMTP envelope travels as object metadata (`mail-from`,
`rcpt-to` comma-separated, `relay`: the HELO name); SES's own objects have none and the headers are read instead.
Fits `functions.messaging.ports.InboundMailObjects`."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from functions.messaging.mime import Envelope
from functions.shared.names import INBOUND_MAIL_PREFIX, INBOUND_REJECTED_PREFIX

META_MAIL_FROM, META_RCPT_TO, META_RELAY = "mail-from", "rcpt-to", "relay"


def envelope_metadata(sender: str | None, recipients: list[str], relay: str | None) -> dict[str, str]:
    """What a writer of the bucket puts in the object's metadata (S3 metadata is ASCII: others are dropped)."""
    found = {META_MAIL_FROM: sender or "", META_RCPT_TO: ",".join(recipients), META_RELAY: relay or ""}
    return {k: v for k, v in found.items() if v and v.isascii()}


class S3InboundMail:
    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket

    def fetch(self, key: str, max_bytes: int) -> tuple[bytes, Envelope] | None:
        try:
            found = self._s3.get_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                return None
            raise
        body = found["Body"]
        try:
            raw: bytes = body.read(max_bytes)  # no more than the limit + 1 is ever held: over it is too_large
        finally:
            body.close()
        meta = found.get("Metadata", {})
        recipients = tuple(r.strip() for r in meta.get(META_RCPT_TO, "").split(",") if r.strip())
        return raw, Envelope(sender=meta.get(META_MAIL_FROM) or None, recipients=recipients,
                             relay=meta.get(META_RELAY) or None)

    def processed(self, key: str) -> None:
        self._s3.delete_object(Bucket=self._bucket, Key=key)

    def rejected(self, key: str, reason: str) -> None:
        name = key[len(INBOUND_MAIL_PREFIX):] if key.startswith(INBOUND_MAIL_PREFIX) else key
        self._s3.copy_object(Bucket=self._bucket, Key=f"{INBOUND_REJECTED_PREFIX}{reason}/{name}",
                             CopySource={"Bucket": self._bucket, "Key": key}, MetadataDirective="COPY")
        self._s3.delete_object(Bucket=self._bucket, Key=key)


class SesRawMail:
    """Mail leaving the patients' domain (here: bounces) by SES SendRawEmail. SES has no idempotency: `once_key`
    is not enforced by this adapter (a bounce sent again after a crash between send and the object's move is
    possible); the outbound path's claim-before-send adapter (issue 11, outbound) replaces it."""

    def __init__(self, ses: Any) -> None:
        self._ses = ses

    def send(self, raw: bytes, sender: str, recipients: list[str], once_key: str) -> None:
        self._ses.send_raw_email(Source=sender, Destinations=recipients, RawMessage={"Data": raw})
