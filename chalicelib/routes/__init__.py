"""One module per capability, each a Chalice blueprint of `route` declarations; app.py registers them all."""

from chalicelib.routes import (
    access,
    agenda,
    audit,
    catalogue,
    closure,
    enrolment,
    exports,
    health,
    measures,
    messaging,
    meta,
    notifications,
    records,
    reference,
)

BLUEPRINTS = (health.bp, meta.bp, records.bp, access.bp, audit.bp, notifications.bp, agenda.bp, reference.bp,
              messaging.bp, exports.bp, enrolment.bp, closure.bp, catalogue.bp, measures.bp)
