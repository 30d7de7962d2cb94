"""The DMP's document types (JDV_J66, ANS terminology release 1.14.0): the codes a declaration may use, their class
and the heading the citizen sees, retired codes that stay readable, and an access matrix row for every type."""

from __future__ import annotations

from collections import Counter

import pytest

from functions.access.matrix import Matrix, matrix
from functions.records import catalog

# The headings of the citizen's app (mes-rules.md, "Categories shown to the patient").
CATEGORIES = {"synthese", "ordonnances_soins", "imagerie", "biologie", "comptes_rendus", "depistage", "certificats",
              "autres", "administratif", "directives_anticipees", "vaccination", "remboursements"}
RETIRED = ("51851-4", "42348-3")


def test_the_accepted_codes_are_the_108_of_jdv_j66() -> None:
    accepted = catalog.document_types()
    assert len(accepted) == 108
    assert Counter(t.system for t in accepted.values()) == {"TRE_A05": 31, "LOINC": 76, "TRE_A12": 1}
    # counts by class as the 1.14.0 page renders ASS_X16
    assert Counter(t.class_code for t in accepted.values()) == {
        "10": 37, "11": 22, "31": 4, "42": 14, "43": 2, "44": 6, "45": 1, "52": 8, "60": 1, "90": 4, "95": 8,
        "urn:oid:1.3.6.1.4.1.19376.1.2.1.1.1": 1}
    assert {"SYNTH", "REMB", "EXPPAT_1", "EXPPAT_2", "EXPPAT_3", "E1762", "101881-1"} <= accepted.keys()


@pytest.mark.parametrize(("code", "label", "class_code", "category"), [
    ("15507-7", "CR de passage aux urgences", "10", "comptes_rendus"),
    ("34749-2", "CR de consultation pré-anesthésique", "10", "comptes_rendus"),
    ("18776-5", "Plan personnalisé de soins", "44", "ordonnances_soins"),
    ("EXPPAT_3", "Directives anticipées", "90", "directives_anticipees"),
    ("11502-2", "CR d'examens biologiques", "10", "biologie"),
    ("11369-6", "Historique des vaccinations", "52", "vaccination"),
    ("REMB", "Données de remboursement", "60", "remboursements"),
])
def test_a_hospitals_documents_have_their_dmp_label_class_and_heading(code: str, label: str, class_code: str,
                                                                     category: str) -> None:
    t = catalog.document_types()[code]
    assert (t.label, t.class_code, t.category, t.accepted) == (label, class_code, category, True)


def test_every_type_is_shown_under_one_of_the_apps_headings() -> None:
    cat = catalog.type_catalog()
    assert set(cat.categories) == CATEGORIES
    assert {t.category for t in cat.types} == CATEGORIES


@pytest.mark.parametrize("code", RETIRED)
def test_codes_that_are_not_dmp_types_are_refused_for_new_documents_but_still_known(code: str) -> None:
    assert code not in catalog.document_types()
    known = catalog.known_document_types()[code]
    assert known.accepted is False and known.retired


def test_a_catalogue_with_an_unknown_class_fails_at_load() -> None:
    raw = catalog.type_catalog().model_dump()
    raw["types"][0]["class_code"] = "99"
    with pytest.raises(ValueError, match="unknown system, class or category"):
        catalog.TypeCatalog.model_validate(raw)


# ---- the access matrix covers every code ---------------------------------------------------------------------

@pytest.mark.parametrize("code", sorted(catalog.known_document_types()))
def test_every_document_type_has_a_matrix_row(code: str) -> None:
    assert code in matrix().types, f"{code} has no row in functions/access/data/matrix.json: nobody could read it"


def test_the_matrix_has_no_row_for_a_type_the_catalogue_does_not_know() -> None:
    assert set(matrix().types) == set(catalog.known_document_types())


def test_physicians_and_midwives_read_every_type() -> None:
    for code in catalog.known_document_types():
        assert matrix().allows("10", code) and matrix().allows("50", code), code


@pytest.mark.parametrize(("profession", "reads", "not_reads"), [
    # the arrêté's defaults, as mes-rules.md states them
    ("21", ["57833-6", "PRESC-BIO", "60593-1", "DISP_AUT", "11502-2", "11369-6", "60591-5"],
     ["18748-4", "34874-8", "15507-7", "EXPPAT_3"]),
    ("60", ["57833-6", "PRESC-INF", "11502-2", "11490-0", "11369-6", "60591-5"],
     ["18748-4", "34874-8", "60593-1", "15507-7"]),
    ("70", ["57833-6", "PRESC-KINE", "18748-4", "34874-8", "11490-0", "34112-3", "60591-5"],
     ["11502-2", "60593-1", "15507-7"]),
    ("40", ["60591-5", "11369-6", "83836-7"], ["11502-2", "57833-6", "15507-7"]),
    ("92", ["60591-5", "11369-6", "87273-9", "96874-3"], ["11502-2", "57833-6", "18748-4"]),
    ("99", ["60591-5", "SYNTH", "11369-6"], ["11502-2", "57833-6"]),  # a profession the matrix does not list
])
def test_the_default_rows_follow_the_arrete(profession: str, reads: list[str], not_reads: list[str]) -> None:
    m = matrix()
    assert [c for c in reads if not m.allows(profession, c)] == []
    assert [c for c in not_reads if m.allows(profession, c)] == []


def test_a_type_without_a_row_is_read_by_no_professional() -> None:
    m = Matrix.model_validate({"version": "t", "professions": {"10": "Médecin"},
                               "groups": {"all": {"label": "tout", "readers": "*"}}, "types": {"11502-2": "all"}})
    assert m.allows("10", "11502-2") and not m.allows("10", "15507-7")


def test_a_matrix_naming_an_unknown_group_or_profession_fails_at_load() -> None:
    with pytest.raises(ValueError, match="unknown group"):
        Matrix.model_validate({"version": "t", "professions": {}, "groups": {}, "types": {"11502-2": "lab"}})
    with pytest.raises(ValueError, match="unknown professions"):
        Matrix.model_validate({"version": "t", "professions": {"10": "Médecin"},
                               "groups": {"lab": {"label": "l", "readers": ["10", "21"]}}, "types": {}})
