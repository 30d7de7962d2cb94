"""What operations do to a referenced service after the data file was published: change its status
(`python -m local catalogue-status <oid> <STATUS>` locally; a deployed stage runs the same function from an
operations task). Suspension and dereferencing bite at once: a `svc:<oid>` revocation entry (the time of the
change) makes the measures flow refuse every token of the service issued before it, and the token endpoint refuses
new ones; dereferencing also ends every pairing of the service, a page of the per-service index at a time."""

from __future__ import annotations

from functions.catalogue.models import PairingState, ServiceStatus, StatusChange
from functions.catalogue.service import CatalogueDeps, current_catalogue, end_pairing
from functions.journal.models import Actor
from functions.shared.errors import NotFound
from functions.shared.observability import logger

PAGE = 100


def change_status(deps: CatalogueDeps, oid: str, status: ServiceStatus, operator: str) -> int:
    """Set the status, traced in the service's status history with the operator (the operations role or person
    who ran it); returns how many pairings a dereferencing ended."""
    catalogue = current_catalogue(deps)  # the published file with the statuses operations set since
    service = catalogue.service(oid)
    if service is None:
        raise NotFound("service")
    now = deps.clock.now()
    previous = service.status
    change = StatusChange(oid=oid, status=status, previous=previous, operator=operator, at=now,
                          catalogue_version=catalogue.version)
    staged = [deps.store.staged_status(change)]
    if status in (ServiceStatus.SUSPENDUE, ServiceStatus.DEREFERENCEE, ServiceStatus.HORS_LIGNE):
        staged.append(deps.store.staged_revocation(f"svc:{oid}", int(now.timestamp()) + 1, now))
    deps.store.commit(staged)
    logger.info("catalogue status changed", extra={"service": oid, "status": status.value,
                                                   "previous": previous.value, "operator": operator})
    return end_pairings(deps, oid) if status is ServiceStatus.DEREFERENCEE else 0


def end_pairings(deps: CatalogueDeps, oid: str) -> int:
    """End every active pairing of a dereferenced service, each in its holder's chain (idempotent: a rerun
    after a crash finds only those left)."""
    service = current_catalogue(deps).service(oid)
    if service is None:
        return 0
    ended, after = 0, None
    while True:
        page, after = deps.store.pairings_of_service(oid, after, PAGE)
        for pairing in page:
            if pairing.state is PairingState.ACTIVE and end_pairing(
                    deps, service, pairing.holder_ins, "service_dereferenced", Actor.system("catalogue"),
                    PairingState.ENDED) is not None:
                ended += 1
        if after is None:
            return ended
