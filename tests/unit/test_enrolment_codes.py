from functions.accounts.codes import ALPHABET, LENGTH, code_digest, new_code


def test_codes_are_random_readable_and_hashed_per_person() -> None:
    codes = {new_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(c) == LENGTH and set(c) <= set(ALPHABET) for c in codes)
    code = codes.pop()
    assert code_digest("1840612345678", code) == code_digest("1840612345678", code.lower()[:4] + "-" + code[4:])
    assert code_digest("1840612345678", code) != code_digest("2840612345678", code)
    assert code not in code_digest("1840612345678", code)
