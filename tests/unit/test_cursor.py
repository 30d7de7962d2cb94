"""Page sizes and cursors from query strings: only what they claim to be, else a 400 (never a 500)."""

from __future__ import annotations

import pytest

from functions.shared import cursor
from functions.shared.errors import InvalidRequest


@pytest.mark.parametrize(("raw", "size"), [(None, 20), ("1", 1), ("20", 20), ("100", 100), ("007", 7)])
def test_a_page_size_of_ascii_digits_from_1_to_100_is_taken(raw: str | None, size: int) -> None:
    assert cursor.page_size(raw) == size


@pytest.mark.parametrize("raw", [
    "\u00b2",  # superscript two: str.isdigit() is true, int() refuses it (issue 9.8: a 500)
    "\uff11\uff10",  # fullwidth digits: int() takes them as 10
    "\u0663",  # Arabic-Indic three
    "\u06f5",  # extended Arabic-Indic five
    "\U0001d7d3",  # mathematical bold five
    "",  # an empty `limit=` says a size and gives none (schemathesis' negative_data_rejection)
    "5\u0663", " 5", "5 ", "+5", "-5", "1_0", "0x5", "5.0", "0", "101", "1" * 5000,
])
def test_anything_but_ascii_digits_from_1_to_100_is_invalid_limit(raw: str) -> None:
    with pytest.raises(InvalidRequest) as err:
        cursor.page_size(raw)
    assert err.value.code == "invalid_limit"
