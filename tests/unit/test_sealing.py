"""functions/shared/sealing.py over an in-memory S3: what documents and attachments share. A sealed object is not its
plaintext at rest, opens only under its own key and space key, is downloaded through a plaintext copy; an object
stored before the envelope is read and downloaded as it is."""

from __future__ import annotations

import io
import os
from typing import Any

import pytest

from functions.shared.envelope import Undecryptable
from functions.shared.sealing import SealedObjects

PDF = b"%PDF-1.4 lettre de sortie\n%%EOF\n"


class MemoryS3:
    """put_object/get_object/delete_object with Metadata, keyed by (bucket, key)."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], dict[str, Any]] = {}

    def put_object(self, Bucket: str, Key: str, Body: bytes, **params: Any) -> None:
        self.objects[(Bucket, Key)] = {"Body": Body, "Metadata": params.get("Metadata", {}), "params": params}

    def get_object(self, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        stored = self.objects[(Bucket, Key)]
        return {"Body": io.BytesIO(stored["Body"]), "Metadata": dict(stored["Metadata"])}

    def delete_object(self, Bucket: str, Key: str) -> None:
        self.objects.pop((Bucket, Key), None)


class Keys:
    def __init__(self) -> None:
        self.keys: dict[str, bytes] = {}

    def data_key(self, ins: str) -> bytes:
        return self.keys.setdefault(ins, os.urandom(32))


@pytest.fixture
def s3() -> MemoryS3:
    return MemoryS3()


def sealed(s3: MemoryS3, keys: Keys | None = None) -> SealedObjects:
    return SealedObjects(s3, "kms-key", keys or Keys(), "quarantine")


def test_a_sealed_object_is_not_its_plaintext_at_rest_and_reads_back(s3: MemoryS3) -> None:
    objects = sealed(s3)
    objects.put("attachments", "a/m/1", "ins-1", PDF, "application/pdf", {"patient": "ins-1", "message": "m"})
    at_rest = s3.objects[("attachments", "a/m/1")]
    assert PDF not in at_rest["Body"] and at_rest["Metadata"] == {"envelope": "aes-256-gcm"}
    assert at_rest["params"]["ServerSideEncryption"] == "aws:kms"
    assert objects.read("attachments", "a/m/1", "ins-1") == PDF


def test_a_sealed_object_moved_under_another_key_or_space_does_not_open(s3: MemoryS3) -> None:
    objects = sealed(s3)
    objects.put("attachments", "a/m/1", "ins-1", PDF, "application/pdf", {})
    s3.objects[("attachments", "a/m/2")] = s3.objects[("attachments", "a/m/1")]
    with pytest.raises(Undecryptable):
        objects.read("attachments", "a/m/2", "ins-1")
    with pytest.raises(Undecryptable):
        objects.read("attachments", "a/m/1", "ins-2")


def test_a_download_of_a_sealed_object_points_at_a_plaintext_copy(s3: MemoryS3) -> None:
    objects = sealed(s3)
    objects.put("records", "records/p/doc", "ins-1", PDF, "application/pdf", {})
    where = objects.downloadable("records", "records/p/doc", "ins-1", "application/pdf", "downloads/p/doc",
                                 {"mes:download": "downloads/p/doc"})
    assert where == ("quarantine", "downloads/p/doc") and s3.objects[where]["Body"] == PDF
    objects.discard_copy("downloads/p/doc")
    assert where not in s3.objects


def test_an_object_stored_before_the_envelope_is_read_and_downloaded_as_it_is(s3: MemoryS3) -> None:
    s3.put_object(Bucket="records", Key="records/p/old", Body=PDF)
    objects = sealed(s3)
    assert objects.read("records", "records/p/old", "ins-1") == PDF
    assert objects.downloadable("records", "records/p/old", "ins-1", "application/pdf", "downloads/p/old",
                                {}) == ("records", "records/p/old")
    assert ("quarantine", "downloads/p/old") not in s3.objects
