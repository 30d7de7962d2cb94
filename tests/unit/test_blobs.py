"""Download URLs (issue 9.15): S3 answers them as an attachment of the verified type, never cached. Presigning is
local, so a real boto3 client checks the URL it signs without any AWS call."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from functions.records.blobs import S3BlobStore


def download_params(content_type: str) -> dict[str, str]:
    s3 = boto3.client("s3", region_name="eu-west-3", aws_access_key_id="x", aws_secret_access_key="x")
    url = S3BlobStore(s3, "quarantine", "records", "key").presign_download("p/doc", 300, content_type,
                                                                                  "MonEspaceSante_2026-03-15_0a1b")
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.mark.parametrize(("verified", "served", "extension"), [
    ("application/pdf", "application/pdf", "pdf"),
    ("image/png", "image/png", "png"),
    ("text/plain", "text/plain; charset=utf-8", "txt"),
    ("application/xml", "application/xml", "xml"),
    ("application/x-unknown", "application/octet-stream", "bin"),
])
def test_a_download_url_forces_an_attachment_of_the_verified_type(verified: str, served: str, extension: str) -> None:
    params = download_params(verified)
    name = f"MonEspaceSante_2026-03-15_0a1b.{extension}"  # the document's download_name
    assert params["response-content-disposition"] == f'attachment; filename="{name}"'
    assert params["response-content-type"] == served
    assert params["response-cache-control"] == "no-store"
    assert params["X-Amz-Expires"] == "300"


def test_a_file_name_keeps_only_what_every_browser_keeps() -> None:
    s3 = boto3.client("s3", region_name="eu-west-3", aws_access_key_id="x", aws_secret_access_key="x")
    url = S3BlobStore(s3, "quarantine", "records", "key").presign_download("p/doc", 300, "application/pdf",
                                                                           'a"b/c\\d é')
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert params["response-content-disposition"] == 'attachment; filename="a_b_c_d__.pdf"'
