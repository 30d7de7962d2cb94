"""The open route: the load balancer's and the walkthrough's liveness check."""

from __future__ import annotations

from chalice.app import Blueprint
from pydantic import BaseModel

from chalicelib.edge import route

bp = Blueprint(__name__)


class HealthOut(BaseModel):
    status: str


@route(bp, "GET", "/v1/health", role="none", response=HealthOut)
def health() -> HealthOut:
    return HealthOut(status="ok")
