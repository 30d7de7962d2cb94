"""The patient's control partition (table `access`): one item per setting, care team member, block,
administrator, emergency grant, professional seen, and the head of the trace chain. Partition = patient INS,
sort = item kind, so one consistent Query returns everything the access policy needs for a request."""

from __future__ import annotations

from pydantic import BaseModel
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from functions.audit.models import ChainHead

SETTINGS, ADMIN, HEAD = "SETTINGS", "ADMIN", "HEAD"
CARE, BLOCK, GRANT, SEEN = "CARE#", "BLOCK#", "GRANT#", "SEEN#"
WITHHELD_HEAD = "WHEAD#"  # head of the withheld trace chain of an INVISIBLE_PATIENT document (audit/journal.py)


class ControlItem(Model):
    """`body` holds the JSON of the pydantic model named by the sort key; the chain head uses `seq`/`hash` so
    that its conditional update is a plain attribute comparison."""

    class Meta:
        table_name = "access"

    patient = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    body = UnicodeAttribute(null=True)
    seq = NumberAttribute(null=True)
    hash = UnicodeAttribute(null=True)

    @classmethod
    def of(cls, patient: str, sk: str, body: BaseModel | str) -> ControlItem:
        text = body if isinstance(body, str) else body.model_dump_json()
        return cls(patient, sk, body=text)

    @classmethod
    def head(cls, patient: str, head: ChainHead, document_id: str | None = None) -> ControlItem:
        """The patient's chain head, or (`document_id`) the head of that document's withheld chain."""
        return cls(patient, WITHHELD_HEAD + document_id if document_id else HEAD, seq=head.seq, hash=head.hash)
