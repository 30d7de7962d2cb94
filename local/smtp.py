"""`python -m local smtp`: a small SMTP listener (aiosmtpd, local only, never deployed) on config.SMTP_PORT that
writes each received mail, as an MSSanté operator relay or an SES receipt rule would, into the inbound-mail bucket
of the local AWS under `incoming/`, with the SMTP envelope (MAIL FROM, RCPT TO, the client's HELO name) as object
metadata. The bucket's notification then reaches the inbound-mail consumer (`make run` pumps its queue)."""

from __future__ import annotations

import uuid
from typing import Any

from functions.messaging.models import MAILBOX_DOMAIN
from functions.shared.names import INBOUND_MAIL_PREFIX
from local import config

MAX_SMTP_BYTES = 30 * 1024 * 1024  # above the 25 MB limit, so the app (not the listener) refuses and bounces


class ToInboundBucket:
    """aiosmtpd handler: accepts recipients of the patients' domain only, stores the mail, answers 250."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if not address.lower().endswith("@" + MAILBOX_DOMAIN):
            return "550 5.1.1 not a mailbox of " + MAILBOX_DOMAIN
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        from functions.messaging.mailbucket import envelope_metadata

        key = f"{INBOUND_MAIL_PREFIX}{uuid.uuid4().hex}"
        data = envelope.original_content or envelope.content
        self._s3.put_object(Bucket=self._bucket, Key=key, Body=data, Metadata=envelope_metadata(
            envelope.mail_from, list(envelope.rcpt_tos), session.host_name))
        return "250 2.0.0 queued as " + key.removeprefix(INBOUND_MAIL_PREFIX)


def controller(port: int = config.SMTP_PORT, host: str = "127.0.0.1") -> Any:
    """Started (`.start()`) in its own thread; the caller has applied the local environment. aiosmtpd's own
    log (`mail.log`: peers, senders and recipients, i.e. INS, at info level) is kept to warnings."""
    import logging

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)

    from functions.shared.aws import client
    from functions.shared.settings import settings

    s = settings()
    handler = ToInboundBucket(client("s3", s.region), s.inbound_mail_bucket)
    return Controller(handler, hostname=host, port=port, data_size_limit=MAX_SMTP_BYTES, decode_data=False)
