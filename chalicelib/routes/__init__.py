"""One module per capability, each a Chalice blueprint of `route` declarations; app.py registers them all."""

from chalicelib.routes import (
              access,
              agenda,
              audit,
              health,
              measures,
              messaging,
              meta,
              notifications,
              records,
              reference,
)

BLUEPRINTS = (health.bp, meta.bp, records.bp, access.bp, audit.bp, notifications.bp, agenda.bp, reference.bp,
              messaging.bp, measures.bp)
