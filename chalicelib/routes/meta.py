"""The contract of the API, served by the API itself: what a caller's software is generated from."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint
from pydantic import BaseModel, ConfigDict

from chalicelib.edge import route

PATH = "/v1/openapi.json"  # chalicelib/openapi.py, which builds the document, is imported on the first call

bp = Blueprint(__name__)


class OpenApiOut(BaseModel):
    """An OpenAPI 3.1 document (its other members pass through as they are)."""

    model_config = ConfigDict(extra="allow")

    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]
    components: dict[str, Any]


@route(bp, "GET", PATH, role="none", response=OpenApiOut)
def openapi() -> OpenApiOut:
    from chalicelib.openapi import document

    return OpenApiOut.model_validate(document())
