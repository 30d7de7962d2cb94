"""The holder's agenda: appointments and reminders (the same five routes each, declared from one table) and the
prevention calendar."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint

from chalicelib.edge import route
from chalicelib.registry import Models, paged
from functions import deps

if TYPE_CHECKING:
    from pydantic import BaseModel

    from functions.agenda import api
    from functions.identity.principal import Citizen
    from functions.shared.cursor import PageRequest
else:
    api = Models("functions.agenda.api")

bp = Blueprint(__name__)


@dataclass(frozen=True)
class AgendaKind:
    """One kind of agenda item: its path, its id parameter and its shapes. Its service functions follow one
    naming (create_<singular>, read_, list_<singular>s, update_, delete_), imported on first call."""

    singular: str  # also the view names: my_<singular>, my_<singular>_create...
    path: str
    id_param: str
    body_in: type[BaseModel]
    patch_in: type[BaseModel]
    out: Any  # a model class with from_domain
    page: type[BaseModel]  # Page[out]
    deleted_out: type[BaseModel]

    def call(self, verb: str, *args: Any) -> Any:
        from functions.agenda import service

        name = f"{verb}_{self.singular}s" if verb == "list" else f"{verb}_{self.singular}"
        return getattr(service, name)(deps.agenda(), *args)


KINDS = (
    AgendaKind("appointment", "/v1/me/appointments", "appointment_id", api.AppointmentIn, api.AppointmentPatch,
               api.AppointmentOut, paged(api.AppointmentOut), api.AppointmentDeletedOut),
    AgendaKind("reminder", "/v1/me/reminders", "reminder_id", api.ReminderIn, api.ReminderPatch, api.ReminderOut,
               paged(api.ReminderOut), api.ReminderDeletedOut),
)


def declare_items(k: AgendaKind) -> None:
    """List, create, read, update and delete one kind of item; ids that are not the holder's are a 404."""

    item = f"{k.path}/{{{k.id_param}}}"

    @route(bp, "GET", k.path, role="citizen", paginated=True, response=k.page, name=f"my_{k.singular}s")
    def listing(who: Citizen, space: str, page: PageRequest) -> BaseModel:
        items, nxt = k.call("list", space, page.cursor, page.limit)
        return k.page(items=[k.out.from_domain(i) for i in items], next=nxt)

    @route(bp, "POST", k.path, role="citizen", request=k.body_in, response=k.out, status=201, errors=(409, 422),
           idempotent=True, name=f"my_{k.singular}_create")
    def create(who: Citizen, space: str, body: BaseModel) -> BaseModel:
        return k.out.from_domain(k.call("create", space, body))  # type: ignore[no-any-return]

    @route(bp, "GET", item, role="citizen", response=k.out, errors=(404,), name=f"my_{k.singular}")
    def read(who: Citizen, space: str, **ids: str) -> BaseModel:
        return k.out.from_domain(k.call("read", space, ids[k.id_param]))  # type: ignore[no-any-return]

    @route(bp, "PATCH", item, role="citizen", request=k.patch_in, response=k.out, errors=(404, 409, 422),
           name=f"my_{k.singular}_update")
    def update(who: Citizen, space: str, body: BaseModel, **ids: str) -> BaseModel:
        return k.out.from_domain(k.call("update", space, ids[k.id_param], body))  # type: ignore[no-any-return]

    @route(bp, "DELETE", item, role="citizen", response=k.deleted_out, errors=(404, 409),
           name=f"my_{k.singular}_delete")
    def delete(who: Citizen, space: str, **ids: str) -> BaseModel:
        k.call("delete", space, ids[k.id_param])
        return k.deleted_out.model_validate({k.id_param: ids[k.id_param]})


for _kind in KINDS:
    declare_items(_kind)


@route(bp, "GET", "/v1/me/prevention", role="citizen", response=api.PreventionOut, errors=(404,))
def my_prevention(who: Citizen, space: str) -> api.PreventionOut:
    from functions.agenda import calendar, service

    items, reason, next_on = service.read_prevention(deps.agenda(), space)
    return api.PreventionOut(calendar_version=calendar.calendar().version, reason=reason, next_reminder_on=next_on,
                             items=[api.PreventionItemOut.from_domain(i) for i in items])


@route(bp, "PATCH", "/v1/me/prevention/{code}", role="citizen", request=api.PreventionPatch,
       response=api.PreventionRecordOut, errors=(404, 409, 422))
def my_prevention_record(who: Citizen, space: str, code: str, body: api.PreventionPatch) -> api.PreventionRecordOut:

    from functions.agenda import service

    return api.PreventionRecordOut.from_domain(code, service.record_prevention(deps.agenda(), space, code, body))
