"""The `exports` table, exports' alone: one item per holder (partition `ins`), the current export as JSON with a
`version` for conditional writes and a TTL once its archives expire. The archives bucket (SSE-KMS, objects expire by
lifecycle) and the build queue."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import IO, Any

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.models import Model

from functions.exports.models import ExportJob, archive_prefix
from functions.shared.staging import WriteSink


class ExportItem(Model):
    class Meta:
        table_name = "exports"

    ins = UnicodeAttribute(hash_key=True)
    body = UnicodeAttribute()
    version = NumberAttribute(default=0)
    expires = TTLAttribute(null=True)


@dataclass(frozen=True)
class _PutJob:
    job: ExportJob
    previous: ExportJob | None

    def stage(self, tx: WriteSink) -> None:
        item = ExportItem(self.job.ins, body=self.job.model_dump_json(exclude={"version"}),
                          version=(self.previous.version if self.previous else 0) + 1,
                          expires=self.job.expires_at)
        condition = (ExportItem.ins.does_not_exist() if self.previous is None
                     else ExportItem.version == self.previous.version)
        tx.put("export", item, condition)


class DynamoExportJobs:
    def get(self, ins: str) -> ExportJob | None:
        try:
            item = ExportItem.get(ins, consistent_read=True)
        except ExportItem.DoesNotExist:
            return None
        return ExportJob.model_validate_json(item.body).model_copy(update={"version": item.version})

    def staged(self, job: ExportJob, previous: ExportJob | None) -> _PutJob:
        return _PutJob(job, previous)


class S3Archives:
    def __init__(self, s3: Any, bucket: str, kms_key_id: str) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._kms_key_id = kms_key_id

    def put(self, key: str, body: IO[bytes]) -> None:
        """Multipart for large archives (boto3's managed transfer), encrypted under the project key."""
        self._s3.upload_fileobj(body, self._bucket, key, ExtraArgs={
            "ContentType": "application/zip", "ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self._kms_key_id})

    def presign(self, key: str, ttl_seconds: int, filename: str) -> str:
        url: str = self._s3.generate_presigned_url("get_object", Params={
            "Bucket": self._bucket, "Key": key, "ResponseContentType": "application/zip",
            "ResponseContentDisposition": f'attachment; filename="{filename}"', "ResponseCacheControl": "no-store",
        }, ExpiresIn=ttl_seconds)
        return url


class SqsExportQueue:
    def __init__(self, sqs: Any, url: str) -> None:
        self._sqs = sqs
        self._url = url

    def send(self, ins: str, export_id: str) -> None:
        self._sqs.send_message(QueueUrl=self._url, MessageBody=json.dumps({"ins": ins, "export_id": export_id}))


class ExportsErasure:
    """`functions.accounts.ports.SpaceEraser` for exports: the holder's export item and every archive (and version)
    under `<ins>/` of the exports bucket."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket

    def erase_space(self, ins: str) -> int:
        from functions.shared.erasing import delete_partition, delete_versions

        return delete_partition(ExportItem, ins) + delete_versions(self._s3, self._bucket, archive_prefix(ins))
