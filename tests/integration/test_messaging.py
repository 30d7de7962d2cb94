"""Secure messaging through the HTTP stack (issue 11): a professional writes, the patient lists, reads, drafts,
replies within the rules, trashes; traces and the notification exist; someone else's conversation and a closed or
missing space are 404s that write nothing."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from tests.integration.conftest import Stack, new_ins

_keys = itertools.count()


def write(stack: Stack, ins: str, headers: dict[str, str], **body: Any) -> Any:
    payload = {"subject": "Résultats", "html": "<p>Bonjour</p>", **body}
    return stack.call("POST", f"/v1/patients/{ins}/messages",
                      {**headers, "Idempotency-Key": f"msg-test-{next(_keys):06d}"}, json=payload)


def actions(stack: Stack, owner: dict[str, str]) -> list[str]:
    return [t["action"] for t in stack.call("GET", "/v1/me/traces?limit=100", owner).json()["items"]]


def test_a_professional_writes_and_the_patient_lists_reads_and_replies(stack: Stack) -> None:
    ins, owner = stack.citizen()
    dr = stack.professional(rpps="10000000301")
    # Given a professional's message with a script in its body
    sent = write(stack, ins, dr, html='<p onclick="x()">Bonjour<script>alert(1)</script></p>')
    assert sent.status_code == 201, sent.text
    message = sent.json()
    assert "script" not in message["content"] and "onclick" not in message["content"]
    # When the patient lists the mailbox
    assert stack.call("GET", "/v1/me/mailbox", owner).json() == {"address": f"{ins}@patient.mssante.fr"}
    listed = stack.call("GET", "/v1/me/conversations", owner).json()["items"]
    assert [c["conversation_id"] for c in listed] == [message["conversation_id"]]
    assert listed[0]["unread_count"] == 1 and listed[0]["reply_options"] == ["REPLY"]
    # Then reading marks it read
    cid = message["conversation_id"]
    thread = stack.call("GET", f"/v1/me/conversations/{cid}", owner).json()
    assert [m["message_id"] for m in thread["messages"]] == [message["message_id"]]
    assert stack.call("GET", "/v1/me/conversations", owner).json()["items"][0]["read"] is True
    # And a draft is saved, resumed, then sent as the reply (which removes it)
    saved = stack.call("PUT", f"/v1/me/conversations/{cid}/draft", owner, json={"content": "Merci"})
    assert saved.status_code == 200, saved.text
    assert stack.call("GET", "/v1/me/conversations", owner).json()["items"][0]["has_draft"] is True
    assert stack.call("GET", f"/v1/me/conversations/{cid}/draft", owner).json()["content"] == "Merci"
    reply = stack.call("POST", f"/v1/me/conversations/{cid}/messages",
                       {**owner, "Idempotency-Key": "msg-reply-1"}, json={"content": "Merci docteur"})
    assert reply.status_code == 201, reply.text
    assert [c["id"] for c in reply.json()["to"]] == ["10000000301"]
    assert stack.call("GET", f"/v1/me/conversations/{cid}/draft", owner).status_code == 404
    # The holder's chain says so, and they were notified once, with a link to the message
    assert {"message.received", "message.read", "message.sent"} <= set(actions(stack, owner))
    notes = [n for n in stack.call("GET", "/v1/me/notifications", owner).json()["items"]
             if n["kind"] == "message.new"]
    assert len(notes) == 1 and notes[0]["link"] == f"urn:message:{message['message_id']}"
    assert "Bonjour" not in str(notes[0])


def test_a_fin_subject_ends_the_exchange_and_the_reply_is_refused(stack: Stack) -> None:
    ins, owner = stack.citizen()
    dr = stack.professional(rpps="10000000302")
    cid = write(stack, ins, dr).json()["conversation_id"]
    ended = write(stack, ins, dr, subject="[FIN]", text="Fin de nos échanges", conversation_id=cid)
    assert ended.status_code == 201, ended.text
    thread = stack.call("GET", f"/v1/me/conversations/{cid}", owner).json()
    assert thread["conversation"]["reply_options"] == []
    assert thread["conversation"]["conversation_finalized_by"]
    refused = stack.call("POST", f"/v1/me/conversations/{cid}/messages",
                         {**owner, "Idempotency-Key": "msg-fin-reply-1"}, json={"content": "Une question"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "conversation_ended"


def test_someone_elses_conversation_is_a_404_like_a_missing_one(stack: Stack) -> None:
    ins, owner = stack.citizen()
    _, other = stack.citizen()
    cid = write(stack, ins, stack.professional(rpps="10000000303")).json()["conversation_id"]
    for method, path, body in (("GET", "", None), ("GET", "/draft", None), ("POST", "/trash", None),
                               ("DELETE", "/draft", None), ("PUT", "/draft", {"content": "Bonjour"}),
                               ("POST", "/messages", {"content": "Bonjour"})):
        headers = {**other, "Idempotency-Key": f"msg-theirs-{next(_keys):06d}"}
        theirs = stack.call(method, f"/v1/me/conversations/{cid}{path}", headers, json=body)
        headers = {**other, "Idempotency-Key": f"msg-theirs-{next(_keys):06d}"}
        missing = stack.call(method, f"/v1/me/conversations/conv_{'0' * 24}{path}", headers, json=body)
        assert theirs.status_code == missing.status_code == 404, (method, path, theirs.text)
        assert theirs.json() == missing.json()
    # and the holder's conversation is untouched: no draft, no reply
    (conversation,) = stack.call("GET", "/v1/me/conversations", owner).json()["items"]
    assert conversation["has_draft"] is False and conversation["unread_count"] == 1


def test_the_list_is_newest_first_with_each_unread_count_and_pages(stack: Stack) -> None:
    ins, owner = stack.citizen()
    first = write(stack, ins, stack.professional(rpps="10000000307")).json()["conversation_id"]
    second = write(stack, ins, stack.professional(rpps="10000000308")).json()["conversation_id"]
    write(stack, ins, stack.professional(rpps="10000000308"), conversation_id=second)
    listed = stack.call("GET", "/v1/me/conversations", owner).json()["items"]
    assert [(c["conversation_id"], c["unread_count"]) for c in listed] == [(second, 2), (first, 1)]
    write(stack, ins, stack.professional(rpps="10000000307"), conversation_id=first)  # first is newest again
    page = stack.call("GET", "/v1/me/conversations?limit=1", owner).json()
    assert [c["conversation_id"] for c in page["items"]] == [first] and page["next"]
    rest = stack.call("GET", f"/v1/me/conversations?limit=1&cursor={page['next']}", owner).json()
    assert [c["conversation_id"] for c in rest["items"]] == [second]


def test_the_recipients_the_writer_gives_are_shown_and_html_in_them_is_refused(stack: Stack) -> None:
    ins, owner = stack.citizen()
    dr = stack.professional(rpps="10000000309")
    sent = write(stack, ins, dr, recipients=["Mme Camille Durand", "Dr Paul Roux (copie)"])
    assert sent.status_code == 201, sent.text
    (message,) = stack.call("GET", f"/v1/me/conversations/{sent.json()['conversation_id']}", owner).json()["messages"]
    assert message["recipients"] == ["Mme Camille Durand", "Dr Paul Roux (copie)"]
    refused = write(stack, ins, dr, recipients=["<img src=x onerror=alert(1)>"])
    assert refused.status_code == 422 and set(refused.json()["error"]) == {"code", "message"}
    assert len(stack.call("GET", "/v1/me/conversations", owner).json()["items"]) == 1


def test_a_closed_or_missing_space_is_a_404_and_keeps_nothing(stack: Stack) -> None:
    from functions import deps
    from functions.accounts.models import Space, SpaceStatus

    closed = new_ins()
    deps.spaces().open(Space(ins=closed, status=SpaceStatus.CLOSED, created_at=datetime.now(UTC)))
    dr = stack.professional(rpps="10000000304")
    for ins in (closed, new_ins()):
        answer = write(stack, ins, dr)
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"
        assert deps.messaging().store.list(ins, None, 10) == ([], None)


def test_html_in_the_subject_is_refused_and_trash_hides_the_conversation(stack: Stack) -> None:
    ins, owner = stack.citizen()
    dr = stack.professional(rpps="10000000305")
    refused = write(stack, ins, dr, subject="<b>Urgent</b>")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "html_in_subject"
    cid = write(stack, ins, dr).json()["conversation_id"]
    assert stack.call("POST", f"/v1/me/conversations/{cid}/trash", owner).status_code == 200
    assert stack.call("GET", "/v1/me/conversations", owner).json()["items"] == []
    assert stack.call("GET", f"/v1/me/conversations/{cid}", owner).status_code == 404
    assert "conversation.trashed" in actions(stack, owner)


def test_a_list_is_one_query_a_read_two_calls_plus_its_trace_and_a_reply_one_transaction_and_the_send(
        stack: Stack, monkeypatch: Any) -> None:
    import botocore.client

    from functions import deps
    from functions.identity.principal import Citizen
    from functions.messaging import service
    from functions.messaging.models import Reply

    ins, _ = stack.citizen()
    cid = write(stack, ins, stack.professional(rpps="10000000306"),
                sender_address="dr.bernard@hopital-nord.mssante.fr").json()["conversation_id"]
    messaging = deps.messaging()
    calls: list[str] = []
    original = botocore.client.BaseClient._make_api_call

    def counting(self: Any, operation: str, params: dict[str, Any]) -> Any:
        calls.append(operation)
        return original(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", counting)
    service.list_conversations(messaging, ins, None, 20)
    assert calls == ["Query"]
    calls.clear()
    service.read_conversation(messaging, Citizen(ins=ins), ins, cid)
    assert calls.count("TransactWriteItems") == 1 and len(calls) <= 3, calls
    calls.clear()
    # a reply: the conversation and the chain head read, one transaction (message, conversation, trace and the
    # outbox entry), then the outbound send (locally the captured mail's PutObject) and the outbox entry's removal
    service.reply(messaging, Citizen(ins=ins), ins, cid, Reply(content="Merci"))
    assert calls == ["GetItem", "GetItem", "TransactWriteItems", "PutObject", "DeleteItem"], calls


def test_a_professional_the_holder_blocked_still_writes_and_the_message_arrives_and_notifies(stack: Stack) -> None:
    """Blocking (record access) is not messaging: mes-rules-next.md A.5 says nothing of blocked writers, so the
    message arrives, is listed and notified like any other."""
    ins, owner = stack.citizen()
    assert stack.call("POST", "/v1/me/blocked-professionals", owner, json={"rpps": "10000000310"}).status_code == 201
    sent = write(stack, ins, stack.professional(rpps="10000000310"))
    assert sent.status_code == 201, sent.text
    listed = stack.call("GET", "/v1/me/conversations", owner).json()["items"]
    assert [c["conversation_id"] for c in listed] == [sent.json()["conversation_id"]]
    notes = [n for n in stack.call("GET", "/v1/me/notifications", owner).json()["items"] if n["kind"] == "message.new"]
    assert [n["link"] for n in notes] == [f"urn:message:{sent.json()['message_id']}"]


def test_an_organisation_writes_as_its_finess_and_the_patients_reply_goes_to_it(stack: Stack) -> None:
    ins, owner = stack.citizen()
    token = stack.issuer.mint("https://dev-issuer.localhost/pro", "psc-org-msg", {"finess": "690000003"})
    sent = write(stack, ins, {"Authorization": f"Bearer {token}"}, sender_address="secretariat@chu-lyon.mssante.fr")
    assert sent.status_code == 201, sent.text
    cid = sent.json()["conversation_id"]
    (message,) = stack.call("GET", f"/v1/me/conversations/{cid}", owner).json()["messages"]
    assert (message["sender"]["id"], message["sender"]["type_bal"]) == ("690000003", "ORG")
    reply = stack.call("POST", f"/v1/me/conversations/{cid}/messages",
                       {**owner, "Idempotency-Key": f"org-reply-{next(_keys):06d}"}, json={"content": "Merci"})
    assert reply.status_code == 201, reply.text
    assert [(c["id"], c["address"]) for c in reply.json()["to"]] == [("690000003", "secretariat@chu-lyon.mssante.fr")]


def test_a_subject_or_a_body_over_its_limit_is_a_422_and_writes_nothing(stack: Stack) -> None:
    """Given the limits (subject 200 characters, body 200 000), when a professional writes, the holder answers or
    starts a conversation one character over, then 422 and nothing is written; at the limit it goes through."""
    from functions.messaging.models import MAX_BODY, MAX_SUBJECT

    ins, owner = stack.citizen()
    dr = stack.professional(rpps="10000000311")
    assert write(stack, ins, dr, subject="s" * (MAX_SUBJECT + 1)).status_code == 422
    assert write(stack, ins, dr, text="t" * (MAX_BODY + 1), html=None).status_code == 422
    assert stack.call("GET", "/v1/me/conversations", owner).json()["items"] == []
    cid = write(stack, ins, dr, subject="s" * MAX_SUBJECT).json()["conversation_id"]
    before = actions(stack, owner)
    path = f"/v1/me/conversations/{cid}/messages"
    assert stack.call("POST", path, owner, json={"content": "c" * (MAX_BODY + 1)}).status_code == 422
    refused = stack.call("POST", "/v1/me/conversations", owner,
                         json={"to": "10000000311", "subject": "s" * (MAX_SUBJECT + 1), "content": "Bonjour"})
    assert refused.status_code == 422 and set(refused.json()) == {"error"}
    assert actions(stack, owner) == before
    assert len(stack.call("GET", "/v1/me/conversations", owner).json()["items"]) == 1
    assert stack.call("POST", path, owner, json={"content": "c" * 1000}).status_code == 201
