"""Secure messaging (issue 11): professionals and organisations write to a patient; the holder reads, drafts,
replies within the rules and trashes, writes first to a contact or a pharmacy of their book (kept here too).
Conversation ids that are not the holder's are a 404 like a missing one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint

from chalicelib.edge import header, route
from chalicelib.registry import Models, paged
from functions import deps
from functions.shared.cursor import Page

if TYPE_CHECKING:
    from functions.identity.principal import Citizen, Organisation, Professional
    from functions.messaging import api
    from functions.shared.cursor import PageRequest
else:
    api = Models("functions.messaging.api")

bp = Blueprint(__name__)
CONVERSATION = "/v1/me/conversations/{conversation_id}"


@route(bp, "POST", "/v1/patients/{ins}/messages", role=("professional", "organisation"), request=api.MessageIn,
       response=api.SentMessageOut, status=201, errors=(404, 409, 413, 415, 422), idempotent=True)
def message_to_patient(who: Professional | Organisation, ins: str, body: api.MessageIn) -> api.SentMessageOut:
    from functions.messaging import service

    return api.SentMessageOut.from_sent(service.write_to_patient(deps.messaging(), who, ins, body))


@route(bp, "GET", "/v1/me/mailbox", role="citizen", response=api.MailboxOut)
def my_mailbox(who: Citizen, space: str) -> api.MailboxOut:
    return api.MailboxOut.from_domain(space)


@route(bp, "GET", "/v1/me/conversations", role="citizen", paginated=True, response=paged(api.ConversationOut))
def my_conversations(who: Citizen, space: str, page: PageRequest) -> Page[api.ConversationOut]:
    from functions.messaging import service

    items, nxt = service.list_conversations(deps.messaging(), space, page.cursor, page.limit)
    return Page(items=[api.ConversationOut.from_domain(c) for c in items], next=nxt)


@route(bp, "GET", CONVERSATION, role="citizen", response=api.ThreadOut, errors=(404, 409))
def my_conversation(who: Citizen, space: str, conversation_id: str) -> api.ThreadOut:
    from functions.messaging import service

    m = deps.messaging()
    thread = service.read_conversation(m, who, space, conversation_id)
    return api.ThreadOut.from_domain(thread.conversation, thread.messages, thread.draft, thread.addable,
                                     service.holder_budget(m))


@route(bp, "POST", CONVERSATION + "/messages", role="citizen", request=api.ReplyIn, response=api.SentMessageOut,
       status=201, errors=(404, 409, 413, 415, 422), idempotent=True)
def my_reply(who: Citizen, space: str, conversation_id: str, body: api.ReplyIn) -> api.SentMessageOut:
    from functions.messaging import service

    return api.SentMessageOut.from_sent(service.reply(deps.messaging(), who, space, conversation_id, body))


@route(bp, "PUT", CONVERSATION + "/draft", role="citizen", request=api.DraftIn, response=api.DraftOut,
       errors=(404, 409, 413, 415, 422))
def my_draft_save(who: Citizen, space: str, conversation_id: str, body: api.DraftIn) -> api.DraftOut:
    from functions.messaging import service

    m = deps.messaging()
    return api.DraftOut.from_domain(service.save_draft(m, space, conversation_id, body), service.holder_budget(m))


@route(bp, "GET", CONVERSATION + "/draft", role="citizen", response=api.DraftOut, errors=(404,))
def my_draft(who: Citizen, space: str, conversation_id: str) -> api.DraftOut:
    from functions.messaging import service

    m = deps.messaging()
    return api.DraftOut.from_domain(service.read_draft(m, space, conversation_id), service.holder_budget(m))


@route(bp, "DELETE", CONVERSATION + "/draft", role="citizen", response=api.DraftDeletedOut, errors=(404, 409))
def my_draft_delete(who: Citizen, space: str, conversation_id: str) -> api.DraftDeletedOut:
    from functions.messaging import service

    service.delete_draft(deps.messaging(), space, conversation_id)
    return api.DraftDeletedOut(conversation_id=conversation_id)


@route(bp, "POST", CONVERSATION + "/trash", role="citizen", response=api.TrashedOut, errors=(404, 409))
def my_conversation_trash(who: Citizen, space: str, conversation_id: str) -> api.TrashedOut:
    from functions.messaging import service

    service.trash(deps.messaging(), who, space, conversation_id)
    return api.TrashedOut(conversation_id=conversation_id)


ATTACHMENT = CONVERSATION + "/messages/{message_id}/attachments/{attachment_id}"


@route(bp, "GET", ATTACHMENT, role="citizen", response=api.AttachmentDownloadOut, errors=(404, 409))
def my_attachment(who: Citizen, space: str, conversation_id: str, message_id: str,
                  attachment_id: str) -> api.AttachmentDownloadOut:
    from functions.messaging import service

    m = deps.messaging()
    found, url = service.download_attachment(m, who, space, conversation_id, message_id, attachment_id)
    return api.AttachmentDownloadOut.from_domain(found, url, m.download_ttl_seconds)


@route(bp, "POST", ATTACHMENT + "/record", role="citizen", request=api.SaveToRecordIn,
       response=api.FiledDocumentOut, status=201, errors=(400, 404, 409, 413, 415, 422), idempotent=True,
       idempotency_key_required=True)
def my_attachment_to_record(who: Citizen, space: str, conversation_id: str, message_id: str, attachment_id: str,
                            body: api.SaveToRecordIn) -> api.FiledDocumentOut:
    from functions.messaging import service

    filed = service.save_attachment_to_record(deps.messaging(), who, space, conversation_id, message_id,
                                              attachment_id, body.type_code, body.title, header("idempotency-key"))
    return api.FiledDocumentOut.from_domain(filed)
@route(bp, "POST", "/v1/me/conversations", role="citizen", request=api.NewConversationIn,
       response=api.SentMessageOut, status=201, errors=(404, 409, 413, 415, 422), idempotent=True)
def my_new_conversation(who: Citizen, space: str, body: api.NewConversationIn) -> api.SentMessageOut:
    from functions.messaging import service

    return api.SentMessageOut.from_sent(service.start_conversation(deps.messaging(), who, space, body))


PHARMACIES = "/v1/me/contacts/pharmacies"


@route(bp, "GET", PHARMACIES, role="citizen", response=api.PharmaciesOut)
def my_pharmacies(who: Citizen, space: str) -> api.PharmaciesOut:
    from functions.messaging import service

    return api.PharmaciesOut(items=[api.PharmacyOut.from_domain(p)
                                    for p in service.pharmacies(deps.messaging(), space)])


@route(bp, "POST", PHARMACIES, role="citizen", request=api.PharmacyIn, response=api.PharmacyOut, status=201,
       errors=(404, 409, 422), idempotent=True)
def my_pharmacy_add(who: Citizen, space: str, body: api.PharmacyIn) -> api.PharmacyOut:
    from functions.messaging import service

    return api.PharmacyOut.from_domain(service.add_pharmacy(deps.messaging(), who, space, body.to_domain()))


@route(bp, "DELETE", PHARMACIES + "/{finess}", role="citizen", response=api.PharmacyRemovedOut, errors=(404,))
def my_pharmacy_remove(who: Citizen, space: str, finess: str) -> api.PharmacyRemovedOut:
    from functions.messaging import service

    service.remove_pharmacy(deps.messaging(), who, space, finess)
    return api.PharmacyRemovedOut(finess=finess)
