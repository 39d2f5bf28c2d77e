"""Files an operator's command adds to the lake (alert acknowledgements, quarantine decisions):
each written whole or not at all and never replaced, in a folder of a local lake or under an S3
lake's prefix. The build reads them; nothing deletes them."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


class AlreadyWritten(OSError):
    """A file of that name exists: it is kept as it is."""


class LocalFolder:
    """A folder of a lake on the local file system."""

    def __init__(self, folder: Path, kind: str) -> None:
        self.folder = folder
        self.kind = kind  # what the files are, for messages ("decisions")

    def write_new(self, name: str, body: bytes) -> str:
        """Write the file whole under a hidden name (which no reader reads), then link it to
        ``name``: a reader sees all of it or nothing, and no file is ever replaced."""
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.folder / name
        partial = self.folder / f".{name}.{uuid.uuid4().hex}.tmp"
        partial.write_bytes(body)
        try:
            os.link(partial, final)
        except FileExistsError:
            raise AlreadyWritten(
                f"{final} exists already; {self.kind} are never overwritten"
            ) from None
        finally:
            partial.unlink()
        return str(final)


class S3Folder:
    """The same under s3://BUCKET/PREFIX/<folder>/ (the loader's layout, lakehouse.landing_s3),
    with a conditional PUT."""

    def __init__(
        self, uri: str, folder: str, kind: str, content_type: str, sse: str, kms_key_id: str | None
    ) -> None:
        from lakehouse.landing_s3 import S3Objects, S3Options, new_s3_client, parse_s3_uri

        bucket, self.prefix = parse_s3_uri(uri)
        self.objects = S3Objects(new_s3_client(), bucket, S3Options(sse=sse, kms_key_id=kms_key_id))
        self.folder, self.kind, self.content_type = folder, kind, content_type

    def write_new(self, name: str, body: bytes) -> str:
        from lakehouse.landing_s3 import ObjectExists

        key = f"{self.prefix}{self.folder}/{name}"
        try:
            self.objects.put_new(key, body, self.content_type)
        except ObjectExists:
            raise AlreadyWritten(
                f"{self.objects.uri(key)} exists already; {self.kind} are never overwritten"
            ) from None
        return self.objects.uri(key)


def checked_text(name: str, value: str | None, limit: int, refused: type[Exception]) -> str:
    """An operator's one-line text (a name, a reason), stripped; `refused` when empty, longer
    than `limit` or not one line."""
    text = (value or "").strip()
    if not text:
        raise refused(f"{name} must not be empty")
    if _CONTROL_RE.search(text):
        raise refused(f"{name} must be one line without control characters")
    if len(text) > limit:
        raise refused(f"{name} is longer than {limit} characters")
    return text
