"""Each concurrent request's log lines carry that request's correlation id (the local gateway serves requests on
threads; one global id made 23 of 24 parallel requests log another request's id)."""

from __future__ import annotations

import json
import logging
import threading

from functions.shared.observability import correlate, logger


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict[str, object]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


def test_parallel_requests_each_log_their_own_correlation_id() -> None:
    capture = _Lines()
    capture.setFormatter(logger.registered_formatter)
    logger._logger.addHandler(capture)  # capture the JSON lines the service writes
    barrier = threading.Barrier(24)

    def request(n: int) -> None:
        correlate(f"request-{n}")
        barrier.wait()  # every request has set its id before any logs
        logger.info("handled", extra={"n": n})

    try:
        threads = [threading.Thread(target=request, args=(n,)) for n in range(24)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        logger._logger.removeHandler(capture)
    handled = [line for line in capture.lines if line.get("message") == "handled"]
    assert len(handled) == 24
    assert all(line["correlation_id"] == f"request-{line['n']}" for line in handled)


def test_a_request_without_an_id_gets_a_fresh_one() -> None:
    assert correlate(None) != correlate(None)
