"""The local tool as a newcomer meets it: every mistake is one line on stderr and exit status 2, never a
traceback; `ins --random` prints INS the API accepts; `upload` says what the verifier decided."""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest

from functions.identity.ins import parse_ins, with_key
from local import __main__ as cli
from local import config
from local.testins import random_ins

ROOT = Path(__file__).resolve().parents[2]
GOOD_INS = with_key("2840675123456")
BAD_KEY_INS = GOOD_INS[:13] + f"{(int(GOOD_INS[13:]) % 97) + 1:02d}"


def unused_port() -> int:
    """A port nothing listens on (bound then released: binding opens no connection)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def run_cli(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m local ...` as a person types it, against a stack that is not running."""
    base = {"PATH": os.environ["PATH"], "MES_LOCAL_AWS_PORT": str(unused_port()),
            "MES_LOCAL_API_PORT": str(unused_port()), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "local", *args], cwd=tmp_path, env={**base, **env},
                          capture_output=True, text=True, timeout=60)


def ticket(tmp_path: Path, url: str = "http://127.0.0.1:9/mes-local-quarantine") -> Path:
    path = tmp_path / "ticket.json"
    path.write_text(json.dumps({"document_id": "doc_0123", "status": "pending", "upload": {
        "url": url, "fields": {"key": "uploads/doc_0123", "x-amz-meta-patient": GOOD_INS},
        "expires_at": "2026-11-20T10:00:00Z"}}))
    return path


def assert_one_line_mistake(result: subprocess.CompletedProcess[str], says: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert says in result.stderr


# ---- the mistakes of the issue, through `python -m local` in a process of its own ------------------------------


@pytest.mark.parametrize(("args", "says"), [
    (["token", "citizen", "--ins", BAD_KEY_INS], "invalid INS: INS control key does not match"),
    (["token", "citizen", "--ins", "12345"], "invalid INS"),
    (["token", "citizen", "--ins", GOOD_INS], "the local stack is not running"),
    (["upload", "answer-that-is-not-there.json", "note.txt"], "'answer-that-is-not-there.json' does not exist"),
    (["token", "professional", "--rpps", "10000000001", "--profession", "99", "--finess", "750000001"],
     "unknown profession '99'"),
    (["tick", "--date", "2026-02-30"], "'2026-02-30' is not a date: expected YYYY-MM-DD"),
    (["token", "citizen", "--ins", GOOD_INS, "--birth-date", "12/06/1984"], "'12/06/1984' is not a date"),
])
def test_a_mistake_is_one_line_and_exit_2_without_traceback(tmp_path: Path, args: list[str], says: str) -> None:
    # Given a newcomer's command line, no stack running / When they run it / Then one line says what is wrong
    assert_one_line_mistake(run_cli(args, tmp_path), says)


def test_uploading_when_the_stack_is_not_running_says_so(tmp_path: Path) -> None:
    (tmp_path / "note.txt").write_text("Bonjour")
    answer = ticket(tmp_path, url=f"http://127.0.0.1:{unused_port()}/mes-local-quarantine")
    result = run_cli(["upload", str(answer), "note.txt"], tmp_path)
    assert_one_line_mistake(result, "is `make run` running?")


def test_a_mistyped_port_variable_is_named(tmp_path: Path) -> None:
    result = run_cli(["ins", "--random"], tmp_path, MES_LOCAL_API_PORT="80OO")
    assert_one_line_mistake(result, "MES_LOCAL_API_PORT='80OO' is not a port number")


# ---- the same front door, in process ----------------------------------------------------------------------------


def mistake(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    return err


@pytest.mark.parametrize(("argv", "says"), [
    (["ins"], "give an INS to check, or --random"),
    (["ins", GOOD_INS, "--random"], "not both"),
    (["ins", "--random", "--dept", "20"], "--dept '20' is not a department of birth"),
    (["ins", "--random", "--dept", "2C"], "is not a department of birth"),
    (["ins", "--random", "--sex", "3"], "invalid choice: '3'"),
    (["ins", "--random", "--born", "2999-01-01"], "outside 1900-2099"),
    (["ins", "--random", "--born", (date.today() + timedelta(days=40)).isoformat()], "--born is in the future"),
    (["ins", BAD_KEY_INS], "control key does not match"),
    (["token", "professional", "--rpps", "123", "--profession", "10", "--finess", "750000001"], "--rpps must be"),
    (["token", "professional", "--rpps", "10000000001", "--profession", "10", "--finess", "75"], "--finess must"),
    (["token", "organisation", "--finess", "75"], "--finess must"),
    (["token", "magician"], "invalid choice: 'magician'"),
    (["verify-traces", "nowhere.json"], "the export 'nowhere.json' does not exist"),
])
def test_mistakes_in_process(argv: list[str], says: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert says in mistake(argv, capsys)


def test_the_stack_check_comes_after_the_input_check(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    # A wrong INS is reported as such even when the stack is down: fixing the stack would not have helped.
    monkeypatch.setattr(cli, "_aws_reachable", lambda: False)
    assert "invalid INS" in mistake(["token", "citizen", "--ins", BAD_KEY_INS], capsys)
    assert "not running" in mistake(["token", "citizen", "--ins", GOOD_INS], capsys)
    assert "not running" in mistake(["tick"], capsys)


def test_run_refuses_a_busy_port_and_names_the_variable(monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(cli, "_listening", lambda port: port == config.API_PORT)
    err = mistake(["run"], capsys)
    assert f"port {config.API_PORT} is busy" in err and "MES_LOCAL_API_PORT" in err


def test_help_texts_show_the_ports_in_use(monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(config, "API_PORT", 18080)
    monkeypatch.setattr(config, "AWS_PORT", 14566)
    top = cli.parser().format_help()
    assert "http://localhost:18080 (MES_LOCAL_API_PORT)" in top and "14566 (MES_LOCAL_AWS_PORT)" in top
    with pytest.raises(SystemExit) as done:
        cli.main(["upload", "--help"])
    assert done.value.code == 0
    assert "18080" in capsys.readouterr().out


# ---- ins --random -----------------------------------------------------------------------------------------------


def test_random_ins_pass_the_api_validation_everywhere_in_france() -> None:
    rng = random.Random(14)
    for _ in range(500):
        assert parse_ins(random_ins(rng)).legacy_month is False
    for dept in ("2A", "2B", "01", "95", "971", "976", "99"):
        value = random_ins(rng, department=dept)
        assert parse_ins(value).value == value
        assert value[5:5 + len(dept)] == dept


def test_ins_random_honours_sex_birth_month_and_corsica(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["ins", "--random", "--sex", "2", "--born", "1970-03-04", "--dept", "2a"]) == 0
    value = capsys.readouterr().out.strip()
    assert value.startswith("270032A") and len(value) == 15
    assert parse_ins(value).sex == 2


def test_ins_checks_and_describes_an_ins(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["ins", GOOD_INS]) == 0
    assert capsys.readouterr().out.strip() == "valid INS: sex 2, born 06/84, department 75"


# ---- upload: what is checked before anything is sent, and what the verifier said ------------------------------


def test_upload_refuses_an_answer_that_is_not_one_and_a_missing_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "not-json.json").write_text("<html>")
    assert "is not the JSON answer of POST .../documents" in mistake(
        ["upload", str(tmp_path / "not-json.json"), "x"], capsys)
    answer = str(ticket(tmp_path))
    assert "the file to upload" in mistake(["upload", answer, str(tmp_path / "missing.pdf")], capsys)
    assert "is a folder" in mistake(["upload", answer, str(tmp_path)], capsys)


def test_upload_refuses_a_token_that_cannot_work_before_sending(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "note.txt").write_text("Bonjour")
    answer, note = str(ticket(tmp_path)), str(tmp_path / "note.txt")
    key = "a-local-test-key-of-thirty-two-bytes!"
    expired = jwt.encode({"iss": config.PRO_ISSUER, "exp": 1_000_000_000}, key, algorithm="HS256")
    foreign = jwt.encode({"iss": "https://elsewhere.example"}, key, algorithm="HS256")
    assert "--token is not a token" in mistake(["upload", answer, note, "--token", "garbage"], capsys)
    assert "--token has expired" in mistake(["upload", answer, note, "--token", expired], capsys)
    assert "not issued by the local development issuer" in mistake(["upload", answer, note, "--token", foreign],
                                                                    capsys)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def verdict(states: list[dict[str, Any]], wait: float = 20.0) -> tuple[tuple[str, int], int]:
    """The verdict after these successive reads, and how many reads it took."""
    clock, reads = Clock(), iter(states)
    count = 0

    def read() -> dict[str, Any]:
        nonlocal count
        count += 1
        return next(reads, states[-1])

    sent_at = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    return cli.await_verdict(read, wait, sent_at, sleep=clock.sleep, clock=lambda: clock.now), count


LATER = "2026-11-20T10:00:03Z"


def test_upload_says_accepted_once_the_verifier_made_it_available() -> None:
    (line, status), reads = verdict([{"status": "pending"}, {"status": "pending"},
                                     {"status": "available", "updated_at": LATER}])
    assert (line, status) == ("accepted: the document is in the record", 0)
    assert reads == 3


def test_upload_says_refused_with_the_reason_the_api_gives() -> None:
    (line, status), _ = verdict([{"status": "rejected", "rejection_reason": "checksum_mismatch", "updated_at": LATER}])
    assert line.startswith("refused by the verifier: checksum_mismatch (the file's SHA-256")
    assert status == 1


def test_upload_gives_up_after_the_wait_with_few_reads() -> None:
    # Each read is a trace the patient sees: 20 s of waiting is a handful of reads, not one per second.
    (line, status), reads = verdict([{"status": "pending"}], wait=20)
    assert line.startswith("still pending after 20 s") and status == 1
    assert reads <= 7


def test_upload_to_an_already_decided_document_says_the_file_was_not_the_one_judged() -> None:
    (line, status), _ = verdict([{"status": "available", "updated_at": "2026-11-20T09:59:00Z"}])
    assert "already available before this upload" in line and status == 1


class FakeAnswer:
    def __init__(self, status_code: int, body: Any) -> None:
        self.status_code, self._body = status_code, body

    def json(self) -> Any:
        if self._body is None:
            raise ValueError("not JSON")
        return self._body


@pytest.mark.parametrize(("answer", "says"), [
    (FakeAnswer(403, {"error": {"code": "consent_required", "message": "..."}}), "answers 403 consent_required"),
    (FakeAnswer(502, None), "answers 502 when reading"),
])
def test_reading_the_document_with_the_wrong_token_names_the_fix(monkeypatch: pytest.MonkeyPatch,
                                                                answer: FakeAnswer, says: str) -> None:
    import requests

    monkeypatch.setattr(requests, "get", lambda *_a, **_k: answer)
    with pytest.raises(cli.UserError) as err:
        cli._read_document({"raw": "t", "issuer": config.PRO_ISSUER}, "/v1/patients/x/documents/doc_1")
    assert says in str(err.value) and "--token must be the token of who declared it" in str(err.value)
