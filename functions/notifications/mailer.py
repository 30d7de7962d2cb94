"""E-mail through SES SendBulkTemplatedEmail: up to 50 destinations a call, one template. The e-mail says that
something is waiting in the app (a reminder, and for which day); what, where and with whom stay in the app."""

from __future__ import annotations

import json
from typing import Any

from functions.notifications.models import Email

SES_BULK_LIMIT = 50


class SesMailer:
    """`functions.notifications.ports.Mailer` on SES."""

    def __init__(self, ses: Any, source: str, template: str) -> None:
        self._ses = ses
        self._source = source
        self._template = template

    def send(self, emails: list[Email]) -> int:
        """Returns how many destinations SES refused (logged by the caller, not retried: a bad address stays bad).
        A call-level error raises so the batch is retried."""
        refused = 0
        for start in range(0, len(emails), SES_BULK_LIMIT):
            chunk = emails[start:start + SES_BULK_LIMIT]
            response = self._ses.send_bulk_templated_email(
                Source=self._source, Template=self._template,
                DefaultTemplateData=json.dumps({"kind": "rappel", "day": ""}),
                Destinations=[{"Destination": {"ToAddresses": [e.address]},
                               "ReplacementTemplateData": json.dumps(e.data)} for e in chunk])
            refused += sum(1 for s in response.get("Status", []) if s.get("Status", "Success") != "Success")
        return refused
