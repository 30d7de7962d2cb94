"""What a citizen reads is readable: every notification carries a French title, a sentence and a deep link, built
in one place (`functions.notifications.models.wording`), for every kind there is."""

from __future__ import annotations

from datetime import UTC, date, datetime

from functions.notifications.api import NotificationOut
from functions.notifications.models import Notification, NotificationKind, professional_recipient
from functions.records.catalog import DocumentType

AT = datetime(2032, 3, 15, 6, tzinfo=UTC)
INS = "184067512345622"
RPPS = "10000000001"
DAY = date(2032, 3, 15)
LAB = DocumentType(code="11502-2", system="LOINC", label="CR d'examens biologiques", class_code="10",
                   category="biologie")  # the official label, as functions/records/data/document_types.json has it


def every_kind() -> list[Notification]:
    emergency = Notification.for_emergency_access(INS, RPPS, "BTG", AT)
    return [
        Notification.for_document(INS, "doc1", AT, LAB,
                                  author="Hôpital X"),
        Notification.for_document(INS, "doc2", AT),
        Notification.for_announcement(INS, "doc3", AT),
        Notification.for_first_access(INS, RPPS, AT),
        Notification.for_unusual_reads(INS, RPPS, DAY, AT),
        emergency, emergency.to(professional_recipient("10000000002")),
        Notification.for_night_emergency(INS, RPPS, AT),
        Notification.for_message(INS, "msg_1", AT, "Dr Claire Martin"),
        Notification.for_export(INS, "exp_1", AT),
        Notification.for_access_rules_change(INS, "a1b2c3d4e5f60718", "professional.blocked", AT),
        Notification.for_synchronized_services(INS, DAY, AT, ["GlucoSuivi", "Ma Balance"]),
        Notification.for_reminder(INS, "appt_1", DAY, NotificationKind.APPOINTMENT_REMINDER, AT, what="Rendez-vous",
                                  when="2032-03-16T09:30:00+01:00", professional="Dr Claire Martin",
                                  place="12 rue de la Paix"),
        Notification.for_reminder(INS, "rem_1", DAY, NotificationKind.PERSONAL_REMINDER, AT,
                                  what="Renouveler l'ordonnance", when="2032-03-15"),
        Notification.for_reminder(INS, "prevention", DAY, NotificationKind.PREVENTION_DUE, AT,
                                  what="Dépistage du cancer colorectal"),
    ]


def test_every_kind_has_a_french_title_text_and_link() -> None:
    said = [n.wording() for n in every_kind()]
    assert {n.kind for n in every_kind()} == set(NotificationKind)
    for w in said:
        assert w.title and w.text.endswith(".") and w.link.startswith("urn:")
    assert len({w.text for w in said}) == len(said)  # no two kinds fall back to the same sentence


def test_a_new_document_names_its_type_and_author_and_links_to_it() -> None:
    told = Notification.for_document(INS, "doc1", AT, LAB,
                                     author="Hôpital X").wording()
    assert told.title == "Nouveau document : Compte rendu d'examens biologiques — Hôpital X"
    assert told.link == "urn:document:doc1"
    assert Notification.for_document(INS, "doc2", AT).wording().title == "Nouveau document : un document"


def test_reminders_read_in_paris_time_and_link_to_their_item() -> None:
    appointment, personal, prevention = (n.wording() for n in every_kind()[-3:])
    assert appointment.title == "Rappel : rendez-vous avec Dr Claire Martin"
    assert appointment.text == "Rendez-vous avec Dr Claire Martin le 16 mars 2032 à 9 h 30 (12 rue de la Paix)."
    assert appointment.link == "urn:appointment:appt_1"
    assert (personal.text, personal.link) == ("Renouveler l'ordonnance le 15 mars 2032.", "urn:reminder:rem_1")
    assert "Dépistage du cancer colorectal" in prevention.text and prevention.link == "urn:prevention"


def test_access_alerts_name_the_professional_and_the_announcement_names_no_document() -> None:
    first = Notification.for_first_access(INS, RPPS, AT).wording()
    assert first.text == f"Un professionnel de santé (RPPS {RPPS}) a consulté votre dossier médical pour la " \
        "première fois." and first.link == f"urn:professional:{RPPS}"
    copy = Notification.for_emergency_access(INS, RPPS, "ETREAT", AT).to(professional_recipient("2")).wording()
    assert "votre patient" in copy.title and "SAMU" in copy.text
    announced = Notification.for_announcement(INS, "doc3", AT).wording()
    assert "doc3" not in announced.text + announced.link + announced.title


def test_the_out_model_carries_the_texts_as_utf8_without_escapes() -> None:
    out = NotificationOut.from_domain(every_kind()[0]).model_dump_json()
    assert "Compte rendu d'examens biologiques — Hôpital X" in out and "\\u" not in out


def test_a_new_message_names_its_sender_links_to_the_message_and_says_nothing_of_its_content() -> None:
    told = Notification.for_message(INS, "msg_1", AT, "Dr Claire Martin").wording()
    assert told.title == "Nouveau message de Dr Claire Martin"
    assert told.link == "urn:message:msg_1"
    assert "messagerie" in told.text


def test_a_consent_change_tells_what_changed_without_naming_anyone_and_says_what_to_do_if_it_was_not_them() -> None:
    from functions.notifications.models import RULES_CHANGED, Channels, NotificationPreferences, PreferenceCode

    all_off = NotificationPreferences(channels={c: Channels(in_app=False, email=False) for c in PreferenceCode})

    for action, sentence in RULES_CHANGED.items():
        told = Notification.for_access_rules_change(INS, "a1b2c3d4e5f60718", action, AT)
        said = told.wording()
        assert said.text.startswith(sentence) and "pas à l'origine" in said.text and said.link == "urn:me:access"
        assert RPPS not in said.text and INS not in said.text
        assert told.honouring(all_off).in_app  # a security alert: the holder cannot switch it off
