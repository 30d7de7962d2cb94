"""Reading real-shaped raw mails (events/mail/*.eml) into what the receive flow needs, or refusing them with the
reason the bounce and the metric carry."""

from __future__ import annotations

from email import policy
from pathlib import Path

import pytest

from functions.messaging.mime import (
    Envelope,
    MailLimits,
    MailRefused,
    ParsedMail,
    Refusal,
    TrustList,
    bounce_address,
    parse_mail,
)
from functions.messaging.models import ends_exchange
from functions.records.inspection import content_matches

MAIL = Path(__file__).resolve().parents[2] / "events" / "mail"
PATIENT, PARENT = "204126388884207", "284038889195908"
TRUST = TrustList(domains=("*.mssante.fr",))
NO_ENVELOPE, DEFAULT_LIMITS = Envelope(), MailLimits()


def raw(name: str) -> bytes:
    return (MAIL / name).read_bytes()


def parse(name: str, envelope: Envelope = NO_ENVELOPE, trust: TrustList = TRUST,
          limits: MailLimits = DEFAULT_LIMITS) -> ParsedMail:
    return parse_mail(raw(name), envelope, trust, limits, content_matches)


def refusal(name: str, **kwargs: object) -> Refusal:
    with pytest.raises(MailRefused) as refused:
        parse(name, **kwargs)  # type: ignore[arg-type]
    return refused.value.reason


def test_a_plain_mail_gives_its_sender_recipient_subject_and_escaped_text() -> None:
    mail = parse("plain.eml")
    assert mail.recipients == (PATIENT,)
    assert (mail.sender, mail.sender_name) == ("claire.martin@hopital-nord.mssante.fr", "Dr Claire Martin")
    assert mail.subject == "Compte rendu de consultation"  # the RFC 2047 encoded word decoded
    assert mail.content.startswith("Bonjour,<br><br>Votre compte rendu")
    assert mail.once_key == "<20261201091200.4242@hopital-nord.mssante.fr>"
    assert mail.attachments == () and mail.receipt_to is None


def test_html_is_sanitised_as_the_api_does_and_the_attachment_is_kept_with_its_hash() -> None:
    mail = parse("html_attachment.eml")
    assert "<b>ci-joint</b>" in mail.content
    assert "script" not in mail.content and "javascript:" not in mail.content and "onclick" not in mail.content
    (pdf,) = mail.attachments
    assert (pdf.name, pdf.content_type) == ("courrier-sortie.pdf", "application/pdf")
    assert pdf.data.startswith(b"%PDF-") and pdf.size == len(pdf.data) and len(pdf.sha256) == 64
    assert mail.reply_to == "secretariat.cardio@chu-lyon.mssante.fr"


def test_fin_as_subject_and_the_x_mss_mes_header_both_end_the_exchange() -> None:
    fin, header = parse("fin.eml"), parse("x_mss_mes.eml")
    assert ends_exchange(fin.subject, fin.ends_exchange_header)
    assert header.ends_exchange_header == "FIN" and ends_exchange(header.subject, header.ends_exchange_header)
    assert not ends_exchange(parse("plain.eml").subject, parse("plain.eml").ends_exchange_header)


def test_a_read_receipt_request_is_kept() -> None:
    assert parse("read_receipt.eml").receipt_to == "claire.martin@hopital-nord.mssante.fr"


def test_two_patient_recipients_are_two_mailboxes_and_a_professional_in_copy_is_none() -> None:
    assert parse("two_recipients.eml").recipients == (PATIENT, PARENT)


def test_the_recipients_are_shown_by_name_and_a_patient_never_by_their_address() -> None:
    # To: <patient's address>, "Parent" <...>; Cc: secretariat@...: the INS of a patient is never shown
    assert parse("two_recipients.eml").recipients_shown == ("Patient", "Parent", "secretariat@hopital-nord.mssante.fr")
    assert parse("plain.eml").recipients_shown == ("Patient",)
    # a client that puts the address (or the INS) as the name shows no INS either
    named = raw("two_recipients.eml").replace(
        b'"Parent" <284038889195908@patient.mssante.fr>',
        b'"284038889195908@patient.mssante.fr" <284038889195908@patient.mssante.fr>, '
        b'"2041263888842" <x@chu.mssante.fr>')
    shown = parse_mail(named, NO_ENVELOPE, TRUST, DEFAULT_LIMITS, content_matches).recipients_shown
    assert not any(c.isdigit() for label in shown for c in label) and "Patient" in shown


@pytest.mark.parametrize("elsewhere", ["attacker@gmail.com", f"{PARENT}@patient.mssante.fr", "not an address"])
def test_a_reply_to_or_a_receipt_address_outside_the_professionals_trust_space_is_ignored(elsewhere: str) -> None:
    """A.1 / CNAM v1.3 §9: only an MSSanté Reply-To counts; a receipt to a personal or another patient's mailbox
    would tell a third party the patient read the mail."""
    mail = raw("read_receipt.eml").replace(
        b"Disposition-Notification-To: Dr Claire Martin <claire.martin@hopital-nord.mssante.fr>",
        f"Disposition-Notification-To: {elsewhere}\r\nReply-To: {elsewhere}".encode())
    parsed = parse_mail(mail, NO_ENVELOPE, TRUST, DEFAULT_LIMITS, content_matches)
    assert parsed.reply_to is None and parsed.receipt_to is None
    assert parsed.sender == "claire.martin@hopital-nord.mssante.fr"  # the answers go to the writer


def test_the_envelope_recipients_win_over_the_headers() -> None:
    envelope = Envelope(sender="claire.martin@hopital-nord.mssante.fr",
                        recipients=(f"{PARENT}@patient.mssante.fr", "someone@elsewhere.fr"))
    assert parse("two_recipients.eml", envelope).recipients == (PARENT,)


def test_malformed_mime_is_refused_as_malformed() -> None:
    assert refusal("malformed.eml") == Refusal.MALFORMED
    with pytest.raises(MailRefused) as refused:
        parse_mail(b"\x00\xff garbage without headers", Envelope(), TRUST, MailLimits(), content_matches)
    assert refused.value.reason == Refusal.MALFORMED


def test_a_mail_to_nobody_of_ours_has_no_recipient() -> None:
    mail = raw("plain.eml").replace(f"To: <{PATIENT}@patient.mssante.fr>".encode(), b"To: someone@hopital.fr")
    with pytest.raises(MailRefused) as refused:
        parse_mail(mail, Envelope(), TRUST, MailLimits(), content_matches)
    assert refused.value.reason == Refusal.NO_RECIPIENT


def test_a_sender_domain_or_relay_outside_the_trust_list_is_untrusted() -> None:
    assert refusal("untrusted.eml") == Refusal.UNTRUSTED_SENDER
    assert refusal("plain.eml", envelope=Envelope(sender="bounce@spam.example")) == Refusal.UNTRUSTED_SENDER
    relays = TrustList(domains=("*.mssante.fr",), relays=("relay.*.mssante.fr",))
    assert refusal("plain.eml", envelope=Envelope(relay="smtp.example.com"), trust=relays) == Refusal.UNTRUSTED_SENDER
    assert parse("plain.eml", envelope=Envelope(relay="relay.hopital-nord.mssante.fr"), trust=relays)


def test_a_patient_mailbox_is_never_a_trusted_sender() -> None:
    mail = raw("plain.eml").replace(b"claire.martin@hopital-nord.mssante.fr", f"{PARENT}@patient.mssante.fr".encode())
    with pytest.raises(MailRefused) as refused:
        parse_mail(mail, Envelope(), TrustList(domains=("*.mssante.fr", "patient.mssante.fr")), MailLimits(),
                   content_matches)
    assert refused.value.reason == Refusal.UNTRUSTED_SENDER


def test_html_in_the_subject_is_refused() -> None:
    mail = raw("plain.eml").replace(b"Subject: =?utf-8?q?Compte_rendu_de_consultation?=",
                                    b"Subject: <script>alert(1)</script>")
    with pytest.raises(MailRefused) as refused:
        parse_mail(mail, Envelope(), TRUST, MailLimits(), content_matches)
    assert refused.value.reason == Refusal.HTML_SUBJECT


def test_over_the_whole_message_limit_or_the_attachment_budget_is_too_large() -> None:
    assert parse("too_large.eml").attachments[0].size > 90_000  # within the 25 MB / 20 MB defaults
    assert refusal("too_large.eml", limits=MailLimits(max_message_bytes=100_000)) == Refusal.TOO_LARGE
    assert refusal("too_large.eml", limits=MailLimits(max_attachment_bytes=50_000)) == Refusal.TOO_LARGE
    huge = raw("plain.eml") + b"A" * (25 * 1024 * 1024)
    with pytest.raises(MailRefused) as refused:
        parse_mail(huge, Envelope(), TRUST, MailLimits(), content_matches)
    assert refused.value.reason == Refusal.TOO_LARGE


def test_an_executable_declared_as_a_pdf_is_a_bad_attachment() -> None:
    assert refusal("executable.eml") == Refusal.BAD_ATTACHMENT


@pytest.mark.parametrize(("name", "content_type"), [("archive.zip", "application/zip"),
                                                    ("setup.exe", "application/pdf"),
                                                    ("notes.bin", "application/octet-stream")])
def test_archives_executables_and_unknown_types_are_bad_attachments(name: str, content_type: str) -> None:
    mail = raw("html_attachment.eml").replace(b'filename="courrier-sortie.pdf"', f'filename="{name}"'.encode())
    mail = mail.replace(b"Content-Type: application/pdf", f"Content-Type: {content_type}".encode())
    with pytest.raises(MailRefused) as refused:
        parse_mail(mail, Envelope(), TRUST, MailLimits(), content_matches)
    assert refused.value.reason == Refusal.BAD_ATTACHMENT


def test_a_mail_without_message_id_gets_a_stable_once_key_from_its_bytes() -> None:
    mail = raw("plain.eml").replace(b"Message-ID: <20261201091200.4242@hopital-nord.mssante.fr>\r\n", b"")
    first = parse_mail(mail, Envelope(), TRUST, MailLimits(), content_matches)
    assert first.once_key.startswith("<sha256:")
    assert parse_mail(mail, Envelope(), TRUST, MailLimits(), content_matches).once_key == first.once_key


def test_a_reply_to_our_message_names_its_conversation() -> None:
    mail = raw("plain.eml").replace(
        b"MIME-Version", b"In-Reply-To: <conv_0123456789abcdef01234567.msg_1@patient.mssante.fr>\r\nMIME-Version")
    parsed = parse_mail(mail, Envelope(), TRUST, MailLimits(), content_matches)
    assert parsed.conversation_ref == "conv_0123456789abcdef01234567"


def test_the_bounce_goes_to_the_envelope_sender_else_return_path_else_from() -> None:
    assert bounce_address(raw("plain.eml"), Envelope(sender="a@b.mssante.fr")) == "a@b.mssante.fr"
    assert bounce_address(raw("plain.eml"), Envelope()) == "claire.martin@hopital-nord.mssante.fr"
    assert bounce_address(raw("fin.eml"), Envelope()) == "paul.durand@cabinet-durand.mssante.fr"


def test_a_mail_of_too_many_parts_is_too_large() -> None:
    from email.message import EmailMessage

    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "a@b.mssante.fr", f"{PATIENT}@patient.mssante.fr", "Parts"
    mail.set_content("Bonjour")
    for n in range(51):
        mail.add_attachment(b"%PDF-1.4 x", maintype="application", subtype="pdf", filename=f"{n}.pdf")
    with pytest.raises(MailRefused) as refused:
        parse_mail(bytes(mail), Envelope(), TRUST, MailLimits(), content_matches)
    assert refused.value.reason == Refusal.TOO_LARGE


def _with_attachments(*parts: tuple[str, str, bytes]) -> bytes:
    from email.message import EmailMessage
    from email.parser import BytesParser

    mail = BytesParser(policy=policy.default).parsebytes(raw("plain.eml"))
    assert isinstance(mail, EmailMessage)
    mail.make_mixed()
    for name, content_type, data in parts:
        maintype, subtype = content_type.split("/")
        mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return bytes(mail)


def _zip(entries: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


PDF_A = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
XDM = {"IHE_XDM/SUBSET01/METADATA.XML": b"<SubmitObjectsRequest/>",
       "IHE_XDM/SUBSET01/DOC0001.XML": b"<ClinicalDocument/>", "INDEX.HTM": b"<html></html>", "README.TXT": b"XDM"}


def test_a_hospitals_ihe_xdm_archive_is_inspected_and_set_aside_and_its_pdf_arrives() -> None:
    """A.1: documents travel as IHE_XDM.ZIP (CDA + METADATA.XML) next to a PDF/A; the mail is not bounced."""
    mail = _with_attachments(("IHE_XDM.ZIP", "application/zip", _zip(XDM)), ("cr.pdf", "application/pdf", PDF_A))
    parsed = parse_mail(mail, NO_ENVELOPE, TRUST, DEFAULT_LIMITS, content_matches)
    assert [a.name for a in parsed.attachments] == ["cr.pdf"] and parsed.xdm_set_aside == 1


@pytest.mark.parametrize("archive", [
    pytest.param(_zip({**XDM, "IHE_XDM/SUBSET01/DOC0001.XML": b"\0" * 5_000_000}), id="a bomb (ratio)"),
    pytest.param(_zip({k: v for k, v in XDM.items() if "METADATA" not in k}), id="no METADATA.XML"),
    pytest.param(_zip({**XDM, "IHE_XDM/run.exe": b"MZ"}), id="an executable inside"),
    pytest.param(_zip({**XDM, "IHE_XDM/inner.zip": _zip(XDM)}), id="a nested archive"),
    pytest.param(_zip({**XDM, "../../etc/passwd": b"x"}), id="a path out of it"),
    pytest.param(PDF_A, id="not a zip"),
])
def test_an_ihe_xdm_archive_that_is_not_one_or_is_a_bomb_is_a_bad_attachment(archive: bytes) -> None:
    mail = _with_attachments(("IHE_XDM.ZIP", "application/zip", archive), ("cr.pdf", "application/pdf", PDF_A))
    with pytest.raises(MailRefused) as refused:
        parse_mail(mail, NO_ENVELOPE, TRUST, DEFAULT_LIMITS, content_matches)
    assert refused.value.reason is Refusal.BAD_ATTACHMENT


def test_any_other_zip_is_still_refused() -> None:
    mail = _with_attachments(("dossier.zip", "application/zip", _zip(XDM)), ("cr.pdf", "application/pdf", PDF_A))
    with pytest.raises(MailRefused) as refused:
        parse_mail(mail, NO_ENVELOPE, TRUST, DEFAULT_LIMITS, content_matches)
    assert refused.value.reason is Refusal.BAD_ATTACHMENT
