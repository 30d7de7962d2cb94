"""`python -m local upload ... --token` against a running stack: it sends the file, waits for the verifier through
the API and says what it decided, as the README walkthrough promises."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.integration.conftest import Stack, declaration

ROOT = Path(__file__).resolve().parents[2]
NOTE = b"Bonjour"


def upload_with_the_tool(stack: Stack, tmp_path: Path, declared_bytes: bytes, sent_bytes: bytes,
                         key: str) -> subprocess.CompletedProcess[str]:
    ins, _ = stack.citizen()
    doctor = stack.professional()
    answer = stack.call("POST", f"/v1/patients/{ins}/documents", {**doctor, "Idempotency-Key": key},
                        json=declaration(declared_bytes, content_type="text/plain", type_code="11488-4"))
    assert answer.status_code == 201, answer.text
    (tmp_path / "ticket.json").write_text(json.dumps(answer.json()))
    (tmp_path / "note.txt").write_bytes(sent_bytes)
    env = {**os.environ, "MES_LOCAL_AWS_PORT": stack.aws.rsplit(":", 1)[1],
           "MES_LOCAL_API_PORT": stack.base.rsplit(":", 1)[1]}
    token = doctor["Authorization"].removeprefix("Bearer ")
    tool = subprocess.Popen([sys.executable, "-m", "local", "upload", "ticket.json", "note.txt", "--token", token,
                             "--wait", "30"], cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # The stack's verifier runs when the test drains its queue (make run's runs in a thread of its own).
    deadline = time.monotonic() + 90
    while tool.poll() is None and time.monotonic() < deadline:
        stack.pump.drain()
        time.sleep(0.2)
    if tool.poll() is None:
        tool.kill()
    out, err = tool.communicate()
    return subprocess.CompletedProcess(tool.args, tool.returncode, out, err)


def test_upload_says_the_verifier_accepted_the_file(stack: Stack, tmp_path: Path) -> None:
    done = upload_with_the_tool(stack, tmp_path, NOTE, NOTE, "local-tool-upload-0001")
    assert (done.returncode, done.stdout.strip()) == (0, "accepted: the document is in the record"), done.stderr


def test_upload_says_the_verifier_refused_the_file_and_why(stack: Stack, tmp_path: Path) -> None:
    done = upload_with_the_tool(stack, tmp_path, NOTE, b"Bonsoir", "local-tool-upload-0002")
    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith("refused by the verifier: checksum_mismatch")
