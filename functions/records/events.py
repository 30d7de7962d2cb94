"""S3 notifications as they reach the verifier through SQS: parsed in `functions.shared.s3events`, which the inbound
mail and the intake of beneficiaries files read too."""

from __future__ import annotations

from functions.shared.s3events import MalformedEvent, S3Notification, S3Record, created_objects

__all__ = ["MalformedEvent", "S3Notification", "S3Record", "created_objects"]
