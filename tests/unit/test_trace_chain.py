"""Tamper-evident traces: the chain shows any removed, altered, reordered or truncated entry, and a signed export
shows any change to its payload."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from functions.audit.export import build, check
from functions.journal.models import Actor, ChainHead, Trace, TraceAction, link, verify_chain

INS = "284067512345688"
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def chain(n: int = 5) -> tuple[list[Trace], ChainHead]:
    traces = [Trace.new(INS, T0 + timedelta(minutes=i), Actor(kind="professional", id=f"1000000000{i}"),
                        TraceAction.DOCUMENT_READ, f"doc_{i}") for i in range(n)]
    return link(ChainHead(), traces)


def test_a_linked_chain_verifies_and_numbers_entries_from_one() -> None:
    traces, head = chain()
    assert [t.seq for t in traces] == [1, 2, 3, 4, 5]
    assert head == ChainHead(seq=5, hash=traces[-1].hash)
    assert verify_chain(traces, head) == []


def test_appending_continues_from_the_head() -> None:
    traces, head = chain(2)
    more, head2 = link(head, [Trace.new(INS, T0, Actor.system("job"), TraceAction.DOCUMENT_VERIFIED)])
    assert more[0].seq == 3 and more[0].prev_hash == head.hash
    assert verify_chain(traces + more, head2) == []


def test_a_removed_entry_shows() -> None:
    traces, head = chain()
    problems = verify_chain(traces[:2] + traces[3:], head)
    assert any("missing" in p for p in problems)


def test_an_altered_entry_shows() -> None:
    traces, head = chain()
    traces[2] = traces[2].model_copy(update={"reason": "nothing happened"})
    assert any("altered" in p for p in verify_chain(traces, head))


def test_swapped_entries_show() -> None:
    traces, head = chain()
    traces[1], traces[2] = traces[2], traces[1]
    assert verify_chain(traces, head)


def test_entries_removed_at_the_end_show_against_the_head() -> None:
    traces, head = chain()
    assert verify_chain(traces[:-1]) == []
    assert any("head" in p for p in verify_chain(traces[:-1], head))


class LocalSigner:
    key_id = "local-test-key"

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())

    def sign(self, digest: bytes) -> bytes:
        return self.key.sign(digest, ec.ECDSA(hashes.SHA256()))  # what KMS does with MessageType RAW

    def public_der(self) -> bytes:
        return self.key.public_key().public_bytes(serialization.Encoding.DER,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)


def test_a_signed_export_checks_out_and_any_edit_breaks_it() -> None:
    signer = LocalSigner()
    traces, head = chain()
    export = build(INS, traces, head, T0, signer)
    assert check(export, signer.public_der()) == []

    data = json.loads(export.payload)
    del data["traces"][1]
    edited = export.model_copy(update={"payload": json.dumps(data, sort_keys=True, separators=(",", ":"))})
    problems = check(edited, signer.public_der())
    assert any("signature" in p for p in problems) and any("missing" in p for p in problems)


def test_an_export_signed_by_another_key_is_refused() -> None:
    traces, head = chain()
    export = build(INS, traces, head, T0, LocalSigner())
    assert any("signature" in p for p in check(export, LocalSigner().public_der()))


def test_an_entry_stored_before_names_were_kept_still_recomputes_to_its_hash() -> None:
    """Given an entry hashed when an actor had only kind, id, organisation and profession, When names were added
    to actors, Then the stored chain still verifies (an old record must not read as tampered)."""
    import hashlib

    old_body = {"patient_ins": INS, "trace_id": "00ff00ff00ff00ff", "at": "2026-11-23T08:00:00Z",
                "actor": {"kind": "professional", "id": "10000000001", "organisation": "750000001",
                          "profession": "10"},
                "action": "document.read", "document_id": "doc_1", "reason": None, "seq": 1,
                "prev_hash": "0" * 64}
    stored_hash = hashlib.sha256(json.dumps(old_body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    entry = Trace.model_validate({**old_body, "hash": stored_hash})
    assert verify_chain([entry], ChainHead(seq=1, hash=stored_hash)) == []


def test_an_actors_name_is_part_of_what_the_hash_protects() -> None:
    traces, head = link(ChainHead(), [Trace.new(INS, T0, Actor(kind="organisation", id="750000001",
                                                               name="Hôpital Nord"), TraceAction.DOCUMENT_READ)])
    renamed = traces[0].model_copy(update={"actor": traces[0].actor.model_copy(update={"name": "Autre"})})
    assert verify_chain(traces, head) == [] and verify_chain([renamed], head) != []
