"""The `catalogue` table, the catalogue's alone (MES_CATALOGUE_TABLE). Keys `pk` / `sk`:
- `H#<ins>` / `P#<oid>`: a holder's pairing with a service (one Query lists the holder's pairings). While active it
  carries `svc` = the OID: the sparse GSI `by-service` (hash `svc`, range `pk`) lists one service's pairings
  (dereferencing, 0 Scan).
- `IDPE#<oid>#<idPe>` / `-`: the directory entry (`ins`), so the measures flow resolves a token's idPe by GetItem.
- `CODE#<sha256>` / `-`: an authorization code (60 s); `family` once consumed.
- `RT#<sha256>` / `-`: a refresh token's record (`current` or `used`).
  Both carry `holder` = the holder's INS: the sparse keys-only GSI `by-holder` (hash `holder`, range `pk`) finds
  them at the holder's erasure (no Scan; they hold the INS until their TTL otherwise).
- `JTI#<oid>#<jti>` / `-`: a client assertion already used (until it expires).
- `REVOKED` / `<pairing id>` or `svc:<oid>`: the deny list (`min_pv`), kept the token lifetime + 5 minutes (TTL), so
  one Query of this small partition is the whole list.
- `STATUS` / `<oid>`: a status operations set after the data file was published.
- `STATUS#<oid>` / `<ISO time>`: that service's status history, append-only (who, from what, on which published
  catalogue): written with the status in one transaction, never expired.
Items with a lifetime carry `expires_at_epoch` (DynamoDB TTL; readers also check it, TTL deletes late)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from functions.catalogue.models import (
    AuthorizationCode,
    Pairing,
    PairingState,
    RefreshToken,
    ServiceStatus,
    StatusChange,
    summary_cycle,
)
from functions.catalogue.oauth import ACCESS_TOKEN_SECONDS
from functions.shared.clock import Clock
from functions.shared.dynamo import Transaction, TransactionCancelled, error_code
from functions.shared.staging import Staged, WriteSink

REVOKED = "REVOKED"
STATUS = "STATUS"
DEAD = -1  # a revocation entry's min_pv for a pairing that ended: every token of it is refused
REVOCATION_TTL = timedelta(seconds=ACCESS_TOKEN_SECONDS + 300)  # token lifetime + 5 minutes
REFRESH_TTL = timedelta(days=180)


class ByService(GlobalSecondaryIndex["CatalogueItem"]):
    class Meta:
        index_name = "by-service"
        projection = AllProjection()

    svc = UnicodeAttribute(hash_key=True)
    pk = UnicodeAttribute(range_key=True)


class ByCycle(GlobalSecondaryIndex["CatalogueItem"]):
    class Meta:
        index_name = "by-cycle"
        projection = AllProjection()

    cycle = UnicodeAttribute(hash_key=True)
    pk = UnicodeAttribute(range_key=True)


class ByHolder(GlobalSecondaryIndex["CatalogueItem"]):
    """Sparse, keys only: a holder's authorization codes and refresh tokens, for the erasure alone."""

    class Meta:
        index_name = "by-holder"
        projection = KeysOnlyProjection()

    holder = UnicodeAttribute(hash_key=True)
    pk = UnicodeAttribute(range_key=True)


class CatalogueItem(Model):
    class Meta:
        table_name = "catalogue"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    body = UnicodeAttribute(null=True)
    version = NumberAttribute(null=True)
    svc = UnicodeAttribute(null=True)
    state = UnicodeAttribute(null=True)
    family = UnicodeAttribute(null=True)
    min_pv = NumberAttribute(null=True)
    expires_at_epoch = TTLAttribute(null=True)

    cycle = UnicodeAttribute(null=True)
    holder = UnicodeAttribute(null=True)  # on codes and refresh tokens: the `by-holder` index

    by_service = ByService()
    by_cycle = ByCycle()
    by_holder = ByHolder()


def _cycle_key(slot: int, shard: int) -> str:
    return f"{slot:02d}#{shard:02d}"


def _holder(ins: str) -> str:
    return f"H#{ins}"


def _pairing_item(p: Pairing) -> CatalogueItem:
    active = p.state is PairingState.ACTIVE
    return CatalogueItem(_holder(p.holder_ins), f"P#{p.oid}", body=p.model_dump_json(), version=p.version,
                         svc=p.oid if active else None,
                         cycle=_cycle_key(*summary_cycle(p.holder_ins)) if active else None)


def _get(pk: str, sk: str = "-") -> CatalogueItem | None:
    try:
        return CatalogueItem.get(pk, sk, consistent_read=True)
    except CatalogueItem.DoesNotExist:
        return None


@dataclass(frozen=True)
class _PutPairing:
    pairing: Pairing
    previous: Pairing | None

    def stage(self, tx: WriteSink) -> None:
        p = self.pairing
        condition = (CatalogueItem.sk.does_not_exist() if self.previous is None
                     else CatalogueItem.version == self.previous.version)
        tx.put("pairing", _pairing_item(p), condition)
        entry = CatalogueItem(f"IDPE#{p.oid}#{p.id_pe}", "-", body=p.holder_ins)
        if p.state is PairingState.ACTIVE:
            if self.previous is None or self.previous.state is not PairingState.ACTIVE:
                tx.put("directory", entry)
        elif self.previous is not None and self.previous.state is PairingState.ACTIVE:
            tx.delete("directory", entry)


@dataclass(frozen=True)
class _Both:
    """Two writes staged as one."""

    first: Staged
    second: Staged

    def stage(self, tx: WriteSink) -> None:
        self.first.stage(tx)
        self.second.stage(tx)


@dataclass(frozen=True)
class _Put:
    label: str
    item: CatalogueItem
    condition: Any = None

    def stage(self, tx: WriteSink) -> None:
        tx.put(self.label, self.item, self.condition)


@dataclass(frozen=True)
class _Update:
    label: str
    item: CatalogueItem
    actions: list[Any]
    condition: Any

    def stage(self, tx: WriteSink) -> None:
        tx.update(self.label, self.item, self.actions, self.condition)


def _epoch(at: datetime) -> int:
    return int(at.timestamp())


class DynamoCatalogueStore:
    """Fits `functions.catalogue.ports.PairingStore`, and the measures flow's `PairingDirectory` and
    `RevokedPairings` (functions/identity/ports.py). The clock says which entries have expired (TTL deletes
    late, and never on moto)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    # ---- pairings ----------------------------------------------------------------------------------------
    def pairing(self, holder_ins: str, oid: str) -> Pairing | None:
        item = _get(_holder(holder_ins), f"P#{oid}")
        return None if item is None or item.body is None else Pairing.model_validate_json(item.body)

    def pairings(self, holder_ins: str) -> list[Pairing]:
        return [Pairing.model_validate_json(i.body) for i in
                CatalogueItem.query(_holder(holder_ins), CatalogueItem.sk.startswith("P#"), consistent_read=True)
                if i.body is not None]

    def pairings_of_service(self, oid: str, after: str | None, limit: int) -> tuple[list[Pairing], str | None]:
        start = None
        if after is not None:
            start = {"svc": {"S": oid}, "pk": {"S": after}, "sk": {"S": f"P#{oid}"}}
        result = CatalogueItem.by_service.query(oid, limit=limit, last_evaluated_key=start)
        items = [Pairing.model_validate_json(i.body) for i in result if i.body is not None]
        last = result.last_evaluated_key
        return items, (last["pk"]["S"] if last else None)

    def staged_pairing(self, pairing: Pairing, previous: Pairing | None) -> Staged:
        return _PutPairing(pairing, previous)

    def pairings_in_cycle(self, slot: int, shard: int, after: str | None,
                          limit: int) -> tuple[list[Pairing], str | None]:
        """Active pairings whose holders' summary falls on this day of the cycle, in this shard (one page of the
        `by-cycle` index, holders together: it is ordered by their partition)."""
        key = _cycle_key(slot, shard)
        start = None
        if after is not None:
            holder, oid = after.split("|", 1)
            start = {"cycle": {"S": key}, "pk": {"S": holder}, "sk": {"S": oid}}
        result = CatalogueItem.by_cycle.query(key, limit=limit, last_evaluated_key=start)
        items = [Pairing.model_validate_json(i.body) for i in result if i.body is not None]
        last = result.last_evaluated_key
        return items, (f"{last['pk']['S']}|{last['sk']['S']}" if last else None)

    def commit_once(self, staged: Sequence[Staged]) -> bool:
        """Commit; False if a condition failed (a once-only notification already there)."""
        try:
            self.commit(staged)
        except TransactionCancelled:
            return False
        return True

    def resolve(self, oid: str, id_pe: str) -> str | None:
        """The holder behind a pairwise id (PairingDirectory): one GetItem; None once unpaired."""
        item = _get(f"IDPE#{oid}#{id_pe}")
        return None if item is None else item.body

    # ---- revocation --------------------------------------------------------------------------------------
    def staged_revocation(self, key: str, min_version: int, at: datetime) -> Staged:
        return _Put("revocation", CatalogueItem(REVOKED, key, min_pv=min_version,
                                                expires_at_epoch=at + REVOCATION_TTL))

    def snapshot(self) -> dict[str, int]:
        """The deny list (RevokedPairings): ONE Query of the `REVOKED` partition, expired entries left out."""
        now = self._clock.now().timestamp()
        return {i.sk: int(i.min_pv if i.min_pv is not None else DEAD) for i in CatalogueItem.query(REVOKED)
                if i.expires_at_epoch is None or i.expires_at_epoch.timestamp() > now}

    # ---- authorization codes -----------------------------------------------------------------------------
    def staged_code(self, code_hash: str, code: AuthorizationCode) -> Staged:
        return _Put("code", CatalogueItem(f"CODE#{code_hash}", "-", body=code.model_dump_json(),
                                          expires_at_epoch=code.expires_at + timedelta(minutes=10),
                                          holder=code.holder_ins),
                    CatalogueItem.pk.does_not_exist())

    def code(self, code_hash: str) -> tuple[AuthorizationCode, str | None] | None:
        item = _get(f"CODE#{code_hash}")
        if item is None or item.body is None:
            return None
        return AuthorizationCode.model_validate_json(item.body), item.family

    def staged_code_use(self, code_hash: str, family: str) -> Staged:
        return _Update("code", CatalogueItem(f"CODE#{code_hash}", "-"), [CatalogueItem.family.set(family)],
                       CatalogueItem.pk.exists() & CatalogueItem.family.does_not_exist())

    # ---- refresh tokens ----------------------------------------------------------------------------------
    def refresh_token(self, token_hash: str) -> RefreshToken | None:
        item = _get(f"RT#{token_hash}")
        if item is None or item.body is None:
            return None
        token = RefreshToken.model_validate_json(item.body)
        return token.model_copy(update={"state": item.state or "current"})

    def staged_refresh_token(self, token_hash: str, token: RefreshToken) -> Staged:
        return _Put("refresh_token", CatalogueItem(f"RT#{token_hash}", "-", body=token.model_dump_json(),
                                                   state="current", expires_at_epoch=token.expires_at,
                                                   holder=token.holder_ins),
                    CatalogueItem.pk.does_not_exist())

    def staged_refresh_use(self, token_hash: str) -> Staged:
        return _Update("refresh_use", CatalogueItem(f"RT#{token_hash}", "-"), [CatalogueItem.state.set("used")],
                       CatalogueItem.state == "current")

    # ---- client assertions -------------------------------------------------------------------------------
    def use_assertion_id(self, oid: str, jti: str, expires_at: datetime) -> bool:
        try:
            CatalogueItem(f"JTI#{oid}#{jti}", "-", expires_at_epoch=expires_at).save(
                CatalogueItem.pk.does_not_exist() | (CatalogueItem.expires_at_epoch < self._clock.now()))
        except PutError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # ---- statuses set by operations ----------------------------------------------------------------------
    def statuses(self) -> dict[str, ServiceStatus]:
        return {i.sk: ServiceStatus(i.state) for i in CatalogueItem.query(STATUS) if i.state}

    def staged_status(self, change: StatusChange) -> Staged:
        history = CatalogueItem(f"{STATUS}#{change.oid}", change.at.isoformat(), state=change.status.value,
                                body=change.model_dump_json())
        return _Both(_Put("status", CatalogueItem(STATUS, change.oid, state=change.status.value,
                                                  body=change.at.isoformat())),
                     _Put("status_history", history, CatalogueItem.sk.does_not_exist()))

    def status_history(self, oid: str) -> list[StatusChange]:
        return [StatusChange.model_validate_json(i.body) for i in CatalogueItem.query(f"{STATUS}#{oid}") if i.body]

    def commit(self, staged: Sequence[Staged]) -> None:
        tx = Transaction()
        for s in staged:
            s.stage(tx)
        tx.commit()


class CatalogueErasure:
    """`functions.accounts.ports.SpaceEraser` for the catalogue. Every active pairing's tokens die first: its
    revocation entry (`min_pv` DEAD, as unpairing writes) is committed before anything is deleted, so no app can
    write or read with a token issued before (the measures flow reads the deny list). Then the holder's partition
    (pairings: their `by-service` and `by-cycle` entries go with them), each pairing's `IDPE#` directory entry (its
    idPe resolves to nobody), and the holder's authorization codes and refresh tokens found on `by-holder`.
    Revocation entries name a pairing id, not the person, and expire with the tokens (TTL)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def erase_space(self, ins: str) -> int:
        from functions.shared.erasing import delete_items

        held = list(CatalogueItem.query(_holder(ins), consistent_read=True))
        pairings = [Pairing.model_validate_json(i.body) for i in held if i.body is not None]
        active = [p for p in pairings if p.state is PairingState.ACTIVE]
        now = self._clock.now()
        revocations = [CatalogueItem(REVOKED, p.pairing_id, min_pv=DEAD, expires_at_epoch=now + REVOCATION_TTL)
                       for p in active]
        for start in range(0, len(revocations), 100):  # one TransactWriteItems holds 100 items
            tx = Transaction()
            for item in revocations[start:start + 100]:
                tx.put("revocation", item)
            tx.commit()
        doomed = [*held,
                  *(CatalogueItem(f"IDPE#{p.oid}#{p.id_pe}", "-") for p in active),  # only active ones have one
                  *CatalogueItem.by_holder.query(ins)]
        delete_items(CatalogueItem, doomed)
        return len(doomed)
