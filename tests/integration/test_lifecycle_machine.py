"""A hypothesis state machine over the document and consent lifecycle (security-tests.md "Fuzzing"): professionals
and the holder add documents (some uploads lie about their bytes), the holder hides, shows and deletes them,
blocks and unblocks professionals, and everyone reads, in any order. After every step:
- no available document without its object, holding exactly the bytes declared; no object for a rejected or
  deleted one (no orphan);
- every access leaves exactly one trace in the holder's chain (a professional's read, granted or refused, and
  the holder's own read), and the chain verifies;
- what a professional gets follows the rules: only documents that joined the record, nothing to a blocked
  professional, a document hidden from professionals to its author alone, always with a link to its bytes;
  the holder sees their own rejected uploads, never a professional's."""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass

import requests
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from tests.integration.conftest import Stack, declaration, post_file

AUTHOR = {"rpps": "10000000081", "profession": "10", "finess": "750000081"}
STRANGER = {"rpps": "10000000082", "profession": "10", "finess": "690000082"}
PROFESSIONALS = {"author": AUTHOR, "stranger": STRANGER}
SERIAL = itertools.count()


@dataclass
class Expected:
    data: bytes
    own: bool  # the holder's own upload (theirs to delete), else the author's
    state: str  # available | rejected | deleted
    hidden: bool = False


def unseen_by_holder(expected: Expected | None) -> bool:
    """What the holder's routes answer 404 for: nothing there, deleted, or a professional's upload that lied (it
    never joined the record)."""
    return expected is None or expected.state == "deleted" or (expected.state == "rejected" and not expected.own)


def run_machine(stack: Stack) -> None:
    from functions import deps
    from functions.journal.models import verify_chain

    class RecordLifecycle(RuleBasedStateMachine):
        documents = Bundle("documents")

        def __init__(self) -> None:
            super().__init__()
            self.ins, self.holder = stack.citizen()
            self.docs: dict[str, Expected] = {}
            self.blocked: set[str] = set()

        def head(self) -> int:
            return deps.journal().head(self.ins).seq

        def as_pro(self, who: str) -> dict[str, str]:
            return {**stack.professional(**PROFESSIONALS[who]), "X-Access-Reason": "consent"}

        @rule(target=documents, own=st.booleans(), lying=st.booleans())
        def add(self, own: bool, lying: bool) -> str:
            """A professional's document (or the holder's own), its upload true or lying about its bytes."""
            data = b"%PDF-1.4\n% lifecycle " + str(next(SERIAL)).encode() + b"\n"
            key = f"lifecycle-{next(SERIAL):06d}"
            if own:
                path, headers = "/v1/me/documents", {**self.holder, "Idempotency-Key": key}
            else:
                path = f"/v1/patients/{self.ins}/documents"
                headers = {**stack.professional(**AUTHOR), "Idempotency-Key": key}
            ticket = stack.call("POST", path, headers, json=declaration(data))
            assert ticket.status_code == 201, ticket.text  # blocked or not: blocking stops reading, not adding
            sent = data.replace(b"lifecycle", b"lifecycl3") if lying else data
            post_file(ticket.json()["upload"], sent)
            stack.pump.drain()
            doc_id = str(ticket.json()["document_id"])
            self.docs[doc_id] = Expected(data, own, "rejected" if lying else "available")
            return doc_id

        @rule(doc=documents, hidden=st.booleans())
        def hide(self, doc: str, hidden: bool) -> None:
            answer = stack.call("PATCH", f"/v1/me/documents/{doc}", self.holder,
                                json={"hidden_from_professionals": hidden})
            expected = self.docs.get(doc)
            if unseen_by_holder(expected):
                assert answer.status_code == 404, answer.text
            elif answer.status_code == 200:
                assert expected is not None
                expected.hidden = hidden
            else:
                assert expected is not None and answer.status_code == 409 and expected.state != "available"

        @rule(doc=documents)
        def delete(self, doc: str) -> None:
            answer = stack.call("DELETE", f"/v1/me/documents/{doc}", self.holder)
            expected = self.docs.get(doc)
            if unseen_by_holder(expected):
                assert answer.status_code == 404, answer.text
            elif expected is not None and not expected.own:
                assert answer.status_code == 403  # a professional's document is hidden, never deleted
            else:
                assert expected is not None and answer.status_code == 200, answer.text
                expected.state = "deleted"

        @rule(who=st.sampled_from(sorted(PROFESSIONALS)), block=st.booleans())
        def block(self, who: str, block: bool) -> None:
            rpps = PROFESSIONALS[who]["rpps"]
            if block:
                assert stack.call("POST", "/v1/me/blocked-professionals", self.holder,
                                  json={"rpps": rpps}).status_code in (201, 409)
                self.blocked.add(who)
            else:
                answer = stack.call("DELETE", f"/v1/me/blocked-professionals/{rpps}", self.holder)
                assert answer.status_code == (200 if who in self.blocked else 404), (who, self.blocked, answer.text)
                self.blocked.discard(who)

        @rule(doc=documents, who=st.sampled_from(sorted(PROFESSIONALS)))
        def professional_reads(self, doc: str, who: str) -> None:
            before = self.head()
            answer = stack.call("GET", f"/v1/patients/{self.ins}/documents/{doc}", self.as_pro(who))
            assert self.head() == before + 1, "one trace per access, granted or refused"
            expected = self.docs.get(doc)
            # only what joined the record, never to a blocked professional, a hidden one to its author alone
            visible = (expected is not None and expected.state == "available" and who not in self.blocked
                       and not (expected.hidden and (who != "author" or expected.own)))
            if not visible:
                assert answer.status_code == 404, answer.text
                return
            assert expected is not None and answer.status_code == 200, answer.text
            assert requests.get(answer.json()["download_url"], timeout=10).content == expected.data

        @rule(doc=documents)
        def holder_reads(self, doc: str) -> None:
            before = self.head()
            answer = stack.call("GET", f"/v1/me/documents/{doc}", self.holder)
            expected = self.docs.get(doc)
            if unseen_by_holder(expected):
                assert answer.status_code == 404 and self.head() == before, answer.text
                return
            assert expected is not None and answer.status_code == 200 and answer.json()["status"] == expected.state
            assert self.head() == before + 1, "the holder's read is traced once"

        @invariant()
        def every_available_document_has_its_object_and_no_other_has_one(self) -> None:
            records = deps.records()
            for doc_id, expected in self.docs.items():
                stored = records.documents.get(self.ins, doc_id)
                if expected.state == "available":
                    assert stored is not None and stored.available
                    assert records.blobs.read_record(stored.record_key, self.ins) == expected.data
                    assert hashlib.sha256(expected.data).hexdigest() == stored.declaration.sha256
                    continue
                assert stored is None or not stored.available
                if stored is not None:
                    try:
                        records.blobs.read_record(stored.record_key, self.ins)
                    except Exception:  # any "no such object" is what we want  # noqa: S112
                        continue
                    raise AssertionError(f"{expected.state} document {doc_id} still has an object")

        @invariant()
        def the_chain_verifies(self) -> None:
            traces = list(deps.traces().all(self.ins))
            assert verify_chain(traces, deps.journal().head(self.ins)) == []

    run_state_machine_as_test(RecordLifecycle, settings=settings(
        max_examples=6, stateful_step_count=12, deadline=None, derandomize=True, database=None,
        phases=[Phase.generate], suppress_health_check=list(HealthCheck)))


def test_the_document_and_consent_lifecycle_keeps_its_invariants_in_any_order(stack: Stack) -> None:
    run_machine(stack)
