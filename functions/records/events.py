"""S3 notifications as they reach the verifier through SQS: the shared reader (functions/shared/s3_events.py),
also used by the inbound mail."""

from __future__ import annotations

from functions.shared.s3_events import MalformedEvent, created_objects

__all__ = ["MalformedEvent", "created_objects"]
