"""Ports of the notifications capability (storage-free)."""

from __future__ import annotations

from typing import Protocol

from functions.notifications.models import Notification
from functions.shared.staging import Staged


class InAppNotifications(Protocol):
    def staged(self, notifications: list[Notification]) -> list[Staged]:
        """The notification items, to join another owner's transaction (honouring preferences is the caller's
        business). Each is written once: an existing one fails its `notification` condition."""
        ...
