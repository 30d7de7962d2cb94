"""INS checks: shape, control key (Corsica 2A/2B counted as 19/18), overseas departments, legacy months."""

from __future__ import annotations

import pytest

from functions.identity.ins import control_key, parse_ins, with_key
from functions.shared.errors import InvalidRequest


@pytest.mark.parametrize(
    "nir13",
    [
        "1840675123456",  # Paris
        "2920169387012",  # Lyon
        "1850597412345",  # overseas: department 974, commune 12
        "2751298765432",  # December
    ],
)
def test_a_well_formed_ins_with_its_key_is_accepted(nir13: str) -> None:
    ins = parse_ins(with_key(nir13))
    assert ins.value == with_key(nir13)
    assert ins.sex == int(nir13[0])
    assert ins.legacy_month is False


def test_corsican_departments_count_as_19_and_18_in_the_key() -> None:
    assert control_key("1840102A12345") == 97 - int("1840101912345") % 97
    assert control_key("1840102B12345") == 97 - int("1840101812345") % 97
    assert parse_ins(with_key("184012A012345")).value.startswith("184012A")
    assert parse_ins(with_key("184012B012345")).value.startswith("184012B")


def test_lowercase_corsica_is_normalised() -> None:
    assert parse_ins(with_key("184012A012345").lower()).value == with_key("184012A012345")


@pytest.mark.parametrize("month", ["20", "42", "50", "99"])
def test_legacy_month_codes_are_accepted_with_a_flag(month: str) -> None:
    ins = parse_ins(with_key(f"184{month}75123456"))
    assert ins.legacy_month is True


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "12345",
        "3840675123456" + "00",  # sex must be 1 or 2
        "1840075123456",  # month 00 (key appended below)
        "1841575123456",  # month 15
        "1844575123456",  # month 45
        "18406751234X6",  # letter in the order number
        "184062C012345",  # only 2A and 2B exist
    ],
)
def test_malformed_ins_is_a_400_that_does_not_echo_the_value(raw: str) -> None:
    candidate = raw if len(raw) != 13 else with_key(raw) if raw.isdigit() else raw + "00"
    with pytest.raises(InvalidRequest) as err:
        parse_ins(candidate)
    assert err.value.code == "invalid_ins"
    assert candidate not in err.value.message or candidate == ""


def test_a_wrong_control_key_is_refused() -> None:
    good = with_key("1840675123456")
    bad = good[:13] + f"{(int(good[13:]) % 97) + 1:02d}"
    with pytest.raises(InvalidRequest, match="control key"):
        parse_ins(bad)


def test_corsica_with_the_key_computed_without_substitution_is_refused() -> None:
    nir = "184012A012345"
    naive = 97 - int(nir.replace("A", "0")) % 97
    assert naive != control_key(nir)
    with pytest.raises(InvalidRequest):
        parse_ins(f"{nir}{naive:02d}")


def _shifted(value: str, zero: str) -> str:
    """The same INS written with another script's digits (fullwidth, Arabic-Indic...)."""
    return "".join(chr(ord(zero) + int(c)) if c.isascii() and c.isdigit() else c for c in value)


@pytest.mark.parametrize("zero", ["\uff10", "\u0660", "\u06f0", "\u0966", "\U0001d7ce"])
def test_an_ins_in_non_ascii_digits_is_refused(zero: str) -> None:
    """Issue 9.11: `\\d` and int() take any Unicode digit; an INS is ASCII [0-9] only."""
    good = with_key("1840675123456")
    for candidate in (_shifted(good, zero), good[:-1] + _shifted(good[-1], zero), _shifted(good[0], zero) + good[1:]):
        with pytest.raises(InvalidRequest) as err:
            parse_ins(candidate)
        assert err.value.code == "invalid_ins"


def test_an_ins_followed_by_a_line_break_inside_is_refused() -> None:
    good = with_key("1840675123456")
    with pytest.raises(InvalidRequest):
        parse_ins(good[:7] + "\n" + good[7:])
