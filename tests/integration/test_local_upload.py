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


def test_upload_fills_an_attachment_the_holder_declared_on_a_reply(stack: Stack, tmp_path: Path) -> None:
    """A message's answer has `uploads`: the tool sends the file to the one `--attachment` names, and the
    attachment's state then shows in the conversation."""
    import hashlib

    ins, owner = stack.citizen()
    cid = stack.call("POST", f"/v1/patients/{ins}/messages", stack.professional(),
                     json={"subject": "Photo ?", "text": "Une photo", "sender_address": "dr@hopital.mssante.fr"}
                     ).json()["conversation_id"]
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
    photo = {"name": "photo.png", "content_type": "image/png", "size": len(png),
             "sha256": hashlib.sha256(png).hexdigest()}
    answer = stack.call("POST", f"/v1/me/conversations/{cid}/messages", owner,
                        json={"content": "La voici", "attachments": [photo]})
    assert answer.status_code == 201, answer.text
    (tmp_path / "reply.json").write_text(json.dumps(answer.json()))
    (tmp_path / "photo.png").write_bytes(png)
    env = {**os.environ, "MES_LOCAL_AWS_PORT": stack.aws.rsplit(":", 1)[1],
           "MES_LOCAL_API_PORT": stack.base.rsplit(":", 1)[1], "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "local", "upload", "reply.json", "photo.png", "--attachment", "0"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and done.stdout.startswith("uploaded:"), done.stderr
    stack.pump.drain()
    thread = stack.call("GET", f"/v1/me/conversations/{cid}", owner).json()
    mine = next(m for m in thread["messages"] if m["message_id"] == answer.json()["message_id"])
    assert [a["state"] for a in mine["attachments"]] == ["AVAILABLE"]
    wrong = subprocess.run([sys.executable, "-m", "local", "upload", "reply.json", "photo.png", "--attachment", "3"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert wrong.returncode != 0 and "--attachment 3" in wrong.stderr + wrong.stdout
