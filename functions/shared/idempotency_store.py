"""The idempotency table (env MES_IDEMPOTENCY_TABLE): one item per claimed scope, kept a day (DynamoDB TTL).

Every write is an UpdateItem, so the API function needs GetItem + UpdateItem only: the claim joins the creating
transaction as its last item (an update creates the item; being last, it shifts no other item's cancellation
reason), the first response is set after it, and a request that wrote nothing keeps its answer the same way.
A record past its expiry counts as absent, for the condition as for reads (TTL deletes within days, not on time).
A record carries the keyed pseudonym of the space its request acted on (`owner`): the sparse keys-only GSI
`by-owner` lets the erasure delete the person's records (their answers hold the person's data) without a Scan."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from functions.shared.clock import Clock
from functions.shared.dynamo import error_code
from functions.shared.idempotency import Claim, FirstResponse, Joining, owner_of
from functions.shared.privacy import digest
from functions.shared.quota import LABEL, Quota
from functions.shared.staging import WriteSink

DEFAULT_TTL = timedelta(hours=24)


class ByOwner(GlobalSecondaryIndex["IdempotencyItem"]):  # type: ignore[no-untyped-call]  # pynamodb's untyped hook
    """Sparse, keys only: the records of one person's space, for the erasure alone."""

    class Meta:
        index_name = "by-owner"
        projection = KeysOnlyProjection()

    owner = UnicodeAttribute(hash_key=True)
    scope = UnicodeAttribute(range_key=True)


class IdempotencyItem(Model):
    class Meta:
        table_name = "idempotency"  # bound to the stage's table by functions.deps.bind_tables

    scope = UnicodeAttribute(hash_key=True)
    request = UnicodeAttribute()
    status = NumberAttribute(null=True)
    body = UnicodeAttribute(null=True)  # the first response's JSON
    expires_at_epoch = NumberAttribute()  # DynamoDB TTL
    owner = UnicodeAttribute(null=True)  # functions.shared.idempotency.owner_of(the space's INS)
    uses = NumberAttribute(null=True)  # a rate limit's counter (functions/shared/quota.py), `quota#` scopes only

    by_owner = ByOwner()


class DynamoIdempotencyStore:
    """`IdempotencyStore` on DynamoDB."""

    def __init__(self, clock: Clock, ttl: timedelta = DEFAULT_TTL) -> None:
        self._clock = clock
        self._ttl = ttl

    def _now(self) -> int:
        return int(self._clock.now().timestamp())

    def _free(self) -> Condition:
        """No live record under this scope: none, or one past its expiry."""
        free: Condition = IdempotencyItem.scope.does_not_exist() | (IdempotencyItem.expires_at_epoch < self._now())
        return free

    def _claim_actions(self, claim: Claim) -> list[Any]:
        return [*self._identity(claim), IdempotencyItem.status.remove(), IdempotencyItem.body.remove()]

    def _identity(self, claim: Claim) -> list[Any]:
        """The request's hash, the expiry and the owner (or none: a record claimed again loses the old one's)."""
        owner = IdempotencyItem.owner.set(claim.owner) if claim.owner else IdempotencyItem.owner.remove()
        return [IdempotencyItem.request.set(claim.request),
                IdempotencyItem.expires_at_epoch.set(self._now() + int(self._ttl.total_seconds())), owner]

    def joining(self, claim: Claim) -> Joining:
        def stage(tx: TransactWrite) -> None:
            tx.update(IdempotencyItem(claim.scope), actions=self._claim_actions(claim), condition=self._free())

        return Joining(stage=stage)

    def complete(self, claim: Claim, status: int, body: Any) -> None:
        try:
            IdempotencyItem(claim.scope).update(
                actions=[IdempotencyItem.status.set(status), IdempotencyItem.body.set(_dump(body))],
                condition=IdempotencyItem.request == claim.request)
        except UpdateError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            # The record expired and was claimed again meanwhile: that claim's answer is not ours to set.

    def record(self, claim: Claim, status: int, body: Any) -> FirstResponse | None:
        actions = [*self._identity(claim), IdempotencyItem.status.set(status), IdempotencyItem.body.set(_dump(body))]
        try:
            IdempotencyItem(claim.scope).update(actions=actions, condition=self._free())
        except UpdateError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            return self.find(claim)
        return None

    def find(self, claim: Claim) -> FirstResponse | None:
        try:
            item = IdempotencyItem.get(claim.scope, consistent_read=True)
        except IdempotencyItem.DoesNotExist:
            return None
        if int(item.expires_at_epoch) < self._now():
            return None
        status = int(item.status) if item.status is not None else None
        return FirstResponse(request=item.request, status=status,
                             body=json.loads(item.body) if item.body is not None else None)


QUOTA_SCOPE = "quota#"  # never a claim's scope (a sha256 in hex)
QUOTA_GRACE_SECONDS = 3600  # a counter outlives its window a little: TTL deletes late anyway


def quota_scope(quota: Quota, now: datetime) -> str:
    """`quota#<flow>#<subject pseudonym>#<window start>`: no INS or RPPS in clear in a key."""
    return f"{QUOTA_SCOPE}{quota.flow}#{digest(quota.kind, quota.subject)}#{quota.window_start(now)}"


@dataclass(frozen=True)
class _Counted:
    quota: Quota
    now: datetime

    def stage(self, tx: WriteSink) -> None:
        q = self.quota
        actions = [IdempotencyItem.uses.add(1), IdempotencyItem.request.set(f"quota:{q.flow}"),
                   IdempotencyItem.expires_at_epoch.set(q.window_end(self.now) + QUOTA_GRACE_SECONDS)]
        if q.owner:
            actions.append(IdempotencyItem.owner.set(owner_of(q.owner)))
        below: Condition = IdempotencyItem.uses.does_not_exist() | (IdempotencyItem.uses < q.limit)
        tx.update(LABEL, IdempotencyItem(quota_scope(q, self.now)), actions, below)


class DynamoQuotas:
    """`functions.shared.quota.QuotaLedger` on the idempotency table (the API handler's GetItem + UpdateItem
    already): a counter per flow, subject and window, kept past its window by TTL, erased with its space
    (`owner`, the `by-owner` index)."""

    def staged(self, quota: Quota, now: datetime) -> _Counted:
        return _Counted(quota, now)


class IdempotencyErasure:
    """`functions.accounts.ports.SpaceEraser` for the Idempotency-Key records of a person's space (their cached
    answers: an appointment, a care-team member, a message...), found on `by-owner`. Records written before
    `owner` existed are left to their TTL (a day)."""

    def erase_space(self, ins: str) -> int:
        from functions.shared.erasing import delete_items
        from functions.shared.idempotency import owner_of

        found = list(IdempotencyItem.by_owner.query(owner_of(ins)))
        delete_items(IdempotencyItem, found)
        return len(found)


def _dump(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))
