"""Messaging's rules, decided by the server (mes-rules-next.md A.4, A.5): who the patient may answer, how `[FIN]`
ends an exchange, what a body and a subject may hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from functions.messaging.models import (
    Contact,
    Conversation,
    Message,
    ReplyOption,
    ReplyPolicy,
    ends_exchange,
    has_html,
    mailbox_address,
    sanitised_html,
    text_as_html,
)

INS = "190017512345629"
AT = datetime(2032, 3, 15, 9, 0, tzinfo=UTC)
MARTIN = Contact(id="10000000001", name="Dr Martin")
DUPONT = Contact(id="10000000002", name="Dr Dupont")


def start() -> Conversation:
    return Conversation(holder_ins=INS, conversation_id="conv_" + "a" * 24, subject="Résultats", last_message_at=AT)


def message(sender: Contact, subject: str = "Résultats", minutes: int = 0, end: bool = False,
            policy: ReplyPolicy = ReplyPolicy.REPLY_TO_ALL) -> Message:
    return Message(message_id=f"msg_{minutes}", conversation_id="conv_" + "a" * 24, direction="IN", sender=sender,
                   at=AT + timedelta(minutes=minutes), subject=subject, content="<p>x</p>",
                   ends_exchange=ends_exchange(subject, "FIN" if end else None), reply_policy=policy)


def test_every_space_has_its_mssante_address() -> None:
    assert mailbox_address(INS) == "190017512345629@patient.mssante.fr"


def test_the_patient_may_answer_the_professional_who_wrote() -> None:
    conversation = start().received(message(MARTIN))
    assert conversation.reply_options() == [ReplyOption.REPLY]
    assert conversation.recipients(ReplyOption.REPLY) == [MARTIN]
    assert conversation.unread_count == 1


def test_reply_to_all_is_offered_only_with_several_writers_still_in_the_exchange() -> None:
    conversation = start().received(message(MARTIN)).received(message(DUPONT, minutes=1))
    assert conversation.reply_options() == [ReplyOption.REPLY, ReplyOption.REPLY_TO_ALL]
    assert conversation.recipients(ReplyOption.REPLY) == [DUPONT]  # the latest writer
    assert conversation.recipients(ReplyOption.REPLY_TO_ALL) == [MARTIN, DUPONT]


def test_a_fin_subject_or_header_ends_the_exchange_with_who_ended_it() -> None:
    assert ends_exchange("[FIN]") and ends_exchange(" [FIN] ") and ends_exchange("Résultats", "fin")
    assert not ends_exchange("[FIN] résultats") and not ends_exchange("Résultats")
    ended = start().received(message(MARTIN)).received(message(MARTIN, "[FIN]", minutes=1))
    assert ended.finalized_by == "Dr Martin" and ended.reply_options() == []


def test_a_professional_who_ended_is_no_longer_answered_but_the_others_still_are() -> None:
    conversation = (start().received(message(MARTIN)).received(message(DUPONT, minutes=1))
                    .received(message(MARTIN, minutes=2, end=True)))
    assert conversation.finalized_by is None
    assert conversation.recipients(ReplyOption.REPLY_TO_ALL) == [DUPONT]
    assert conversation.reply_options() == [ReplyOption.REPLY]


def test_writing_again_after_fin_reopens_the_exchange() -> None:
    ended = start().received(message(MARTIN, "[FIN]"))
    reopened = ended.received(message(MARTIN, "Suite", minutes=5))
    assert reopened.finalized_by is None and reopened.reply_options() == [ReplyOption.REPLY]


def test_a_message_that_blocks_replies_leaves_no_option_but_does_not_finalize() -> None:
    blocked = start().received(message(MARTIN, policy=ReplyPolicy.NONE))
    assert blocked.reply_options() == [] and blocked.finalized_by is None


def test_a_trashed_conversation_offers_no_reply() -> None:
    assert start().received(message(MARTIN)).model_copy(update={"trashed": True}).reply_options() == []


def test_html_in_a_subject_is_spotted_as_the_app_does() -> None:
    assert has_html("<b>Urgent</b>") and has_html("a<script>")
    assert not has_html("tension < 12") and not has_html("valeur <5")


def test_bodies_are_sanitised_and_text_is_escaped() -> None:
    cleaned = sanitised_html('<p onclick="x()">Bonjour <a href="javascript:alert(1)">ici</a><script>x</script></p>')
    assert "onclick" not in cleaned and "javascript" not in cleaned and "<script" not in cleaned
    assert "Bonjour" in cleaned
    assert text_as_html("a < b\nc") == "a &lt; b<br>c"
