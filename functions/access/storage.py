"""Reads and writes of the patient's control partition (see access/table.py)."""

from __future__ import annotations

import json
from typing import Protocol

from pydantic import BaseModel

from functions.access.models import (
    AccessProfile,
    Acquaintance,
    CareTeamMember,
    EmergencyGrant,
    PatientSettings,
)
from functions.access.table import ADMIN, BLOCK, CARE, GRANT, HEAD, SEEN, SETTINGS, WITHHELD_HEAD, ControlItem
from functions.accounts.models import SpaceStatus
from functions.accounts.storage import SpaceItem, space_key
from functions.audit.journal import Journal, with_journal
from functions.audit.models import ChainHead, Trace
from functions.notifications.models import Notification
from functions.notifications.storage import NotificationItem
from functions.shared.dynamo import TransactionCancelled
from functions.shared.errors import NotFound


def profile_from(patient: str, items: list[ControlItem]) -> AccessProfile:
    """Kinds no longer written are ignored: `OBJECT#` items, and care team members with `"source": "author"`
    (writing a document used to put its author in the care team; it is no basis to read any more)."""
    fields: dict[str, object] = {"patient_ins": patient}
    care, blocked, grants, seen, withheld = {}, {}, {}, {}, {}
    for item in items:
        sk, body = item.sk, item.body or ""
        if sk == SETTINGS:
            fields["settings"] = PatientSettings.model_validate_json(body)
        elif sk == ADMIN:
            fields["administrator"] = body
        elif sk == HEAD:
            fields["head"] = ChainHead(seq=int(item.seq or 0), hash=item.hash or ChainHead().hash)
        elif sk.startswith(CARE):
            if json.loads(body).get("source", "declared") != "declared":
                continue
            member = CareTeamMember.model_validate_json(body)
            care[member.rpps] = member
        elif sk.startswith(BLOCK):
            blocked[sk.removeprefix(BLOCK)] = body
        elif sk.startswith(GRANT):
            grant = EmergencyGrant.model_validate_json(body)
            grants[grant.rpps] = grant
        elif sk.startswith(SEEN):
            acquaintance = Acquaintance.model_validate_json(body)
            seen[acquaintance.rpps] = acquaintance
        elif sk.startswith(WITHHELD_HEAD):
            withheld[sk.removeprefix(WITHHELD_HEAD)] = ChainHead(seq=int(item.seq or 0),
                                                                 hash=item.hash or ChainHead().hash)
    return AccessProfile.model_validate({**fields, "care_team": care, "blocked": blocked, "grants": grants,
                                         "seen": seen, "withheld": withheld})


class ControlWrite(BaseModel):
    """One atomic change of a patient's control partition, with its traces and notifications. With
    `needs_open_space` it commits only while the patient's space is open (the condition of a declaration), else
    NotFound("patient") and nothing is written: a professional's action leaves nothing on an INS with no space.
    `withheld`: the documents whose traces go to their withheld chain instead (see audit/journal.py), with that
    chain's head as read; such a change is written with `retry=False` (a moved head means deciding again)."""

    traces: list[Trace] = []
    puts: list[tuple[str, str]] = []  # (sort key, JSON body)
    deletes: list[str] = []
    notifications: list[Notification] = []
    needs_open_space: bool = False
    withheld: dict[str, ChainHead] = {}


def stage(journal: Journal, patient_ins: str, change: ControlWrite) -> None:
    if change.needs_open_space:
        journal.check("space", SpaceItem, space_key(patient_ins), None, SpaceItem.status == SpaceStatus.OPEN.value)
    for document_id, head in change.withheld.items():
        journal.withhold(document_id, head)
    for sk, body in change.puts:
        journal.put("control", ControlItem.of(patient_ins, sk, body))
    for sk in change.deletes:
        journal.delete("control", ControlItem(patient_ins, sk))
    for n in change.notifications:
        journal.put("notification", NotificationItem.from_domain(n))
    for trace in change.traces:
        journal.trace(trace)


class ControlStore(Protocol):
    def profile(self, patient_ins: str) -> AccessProfile: ...
    def head(self, patient_ins: str) -> ChainHead: ...
    def write(self, patient_ins: str, change: ControlWrite, head: ChainHead | None = None,
              retry: bool = True) -> None: ...


class DynamoControlStore:
    def profile(self, patient_ins: str) -> AccessProfile:
        return profile_from(patient_ins, list(ControlItem.query(patient_ins, consistent_read=True)))

    def head(self, patient_ins: str) -> ChainHead:
        try:
            item = ControlItem.get(patient_ins, HEAD, consistent_read=True)
        except ControlItem.DoesNotExist:
            return ChainHead()
        return ChainHead(seq=int(item.seq or 0), hash=item.hash or ChainHead().hash)

    def write(self, patient_ins: str, change: ControlWrite, head: ChainHead | None = None,
              retry: bool = True) -> None:
        """`retry=False`: one attempt on `head`, ChainMoved if another action got there first (callers whose
        change depends on what they read must decide again rather than replay a stale decision)."""

        def commit(journal: Journal) -> None:
            stage(journal, patient_ins, change)
            try:
                journal.commit()
            except TransactionCancelled as exc:
                if "space" in exc.failed:
                    raise NotFound("patient") from exc
                raise

        if retry:
            with_journal(patient_ins, head, self.head, commit, guard=True)
        else:
            commit(Journal(patient_ins, head if head is not None else self.head(patient_ins), guard=True))
