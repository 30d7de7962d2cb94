"""A long bench run stopped hard (as a session's end kills it) and started again from its checkpoint reports what
an unbroken run reports (bench/checkpoint.py): the accounts scenario at 100 lines, three processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
COMMAND = [sys.executable, "-m", "bench", "accounts", "100", "--in-process"]


def _start(extra: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([*COMMAND, *extra], cwd=ROOT, env={**os.environ, **env}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out, err


def _results(stdout: str) -> dict[str, Any]:
    """The JSON the bench prints last (log lines come before it)."""
    start = 0 if stdout.startswith("{\n") else stdout.index("\n{\n") + 1
    found: dict[str, Any] = json.loads(stdout[start:])["100"]
    return found


def _comparable(run: dict[str, Any]) -> dict[str, Any]:
    run = {k: v for k, v in run.items() if k != "checkpoint_resumes"}
    run["import"] = {k: v for k, v in run["import"].items() if k != "wall_seconds_against_moto"}
    return run


def test_a_run_stopped_twice_and_resumed_reports_what_an_unbroken_run_reports(tmp_path: Path) -> None:
    every_step = {"BENCH_CHECKPOINT_SECONDS": "0"}  # a save between every two invocations and every two steps
    unbroken = _start([], {})
    first = _start(["--checkpoint", str(tmp_path)], {**every_step, "BENCH_STOP_AFTER_SAVES": "1"})
    code, _, _ = _finish(first)
    # stopped inside the first drain: the file split, its chunk task still queued
    assert code == 3 and (tmp_path / "accounts-100.pickle").exists()
    second = _start(["--checkpoint", str(tmp_path)], {**every_step, "BENCH_STOP_AFTER_SAVES": "6"})
    assert _finish(second)[0] == 3
    code, out, err = _finish(_start(["--checkpoint", str(tmp_path)], every_step))
    assert code == 0, err[-2000:]
    resumed = _results(out)
    code, out, err = _finish(unbroken)
    assert code == 0, err[-2000:]
    plain = _results(out)
    assert resumed["checkpoint_resumes"] == 2 and plain["checkpoint_resumes"] == 0
    assert _comparable(resumed) == _comparable(plain)
    assert resumed["creation_job"]["spaces_opened"] == resumed["spaces_informed"] > 0
    assert not (tmp_path / "accounts-100.pickle").exists()  # a finished run leaves no checkpoint behind


def test_sigusr1_asks_for_a_save_at_the_next_point_whatever_the_interval(tmp_path: Path) -> None:
    """How a run is saved just before a session ends: `kill -USR1 <pid>`."""
    import signal

    from bench.checkpoint import Checkpoints

    before = signal.getsignal(signal.SIGUSR1)
    try:
        points = Checkpoints(tmp_path, "accounts-1", interval=3600)
        assert not points.due()
        os.kill(os.getpid(), signal.SIGUSR1)
        assert points.due()
        assert not Checkpoints(None, "accounts-1", interval=0).due()  # no directory: never
    finally:
        signal.signal(signal.SIGUSR1, before)


def test_a_resumed_run_counts_only_its_running_time_against_the_queues_retention() -> None:
    """Tasks queued when the run stopped are still there however long it stayed stopped (SQS keeps 4 days)."""
    import boto3
    from moto import mock_aws
    from moto.backends import get_backend

    from bench.checkpoint import _queued_messages_kept

    with mock_aws():
        sqs = boto3.client("sqs", region_name="eu-west-3", aws_access_key_id="x", aws_secret_access_key="x")
        url = sqs.create_queue(QueueName="tasks")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="chunk")
        (message,) = get_backend("sqs")["123456789012"]["eu-west-3"].queues["tasks"]._messages
        sent = message.sent_timestamp
        assert sent is not None
        _queued_messages_kept(5 * 86_400)  # stopped five days
        assert message.sent_timestamp == sent + 5 * 86_400_000
        assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "chunk"
