"""Where media and result files live: the data dir alone, or an S3 bucket behind it.

Rows name files by their path relative to the data dir (``media/…``, ``results/…``). With the
local backend (the embedded default) the data dir is the store. With ``TIMESIDE_S3_BUCKET`` set
the bucket is the store, shared by every process of a deployment, and each process's data dir
is a bounded read-through cache of it:

* a writer completes a file locally (temporary name, then rename), then :func:`publish`
  uploads it under its relative path as key, before the row naming it commits; an S3 PUT is
  atomic, so a reader never sees part of an object;
* a reader asks :func:`ensure_local` (through ``storage.files.data_file``): a file missing
  locally is downloaded to a temporary name and renamed into place, and the cache is trimmed
  to ``TIMESIDE_S3_CACHE_MB`` by oldest access;
* a removal after commit (``db.hooks``) removes the object too.

So HTTP Range, HDF5 windows and decoding keep reading local files, and processes share no disk.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from timeside_gql.db import hooks
from timeside_gql.settings import Settings, get_settings

log = logging.getLogger(__name__)

#: Folders of the data dir whose files the bucket holds.
FOLDERS = ("media", "results")
TRIM_INTERVAL_S = 10.0


@dataclass
class Bucket:
    """An S3 bucket (AWS, MinIO, Ceph, moto…) holding a data dir's files under ``prefix``."""

    client: Any
    name: str
    prefix: str
    cache_bytes: int
    _last_trim: float = field(default=0.0, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Bucket:
        import boto3  # only deployments with a bucket load botocore

        client = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key_id,
            aws_secret_access_key=settings.s3_secret_access_key,
        )
        prefix = settings.s3_prefix.strip("/")
        return cls(
            client=client,
            name=str(settings.s3_bucket),
            prefix=f"{prefix}/" if prefix else "",
            cache_bytes=settings.s3_cache_mb << 20,
        )

    def key(self, relative: str) -> str:
        return self.prefix + relative

    def upload(self, relative: str, path: Path) -> None:
        self.client.upload_file(str(path), self.name, self.key(relative))

    def has(self, relative: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.name, Key=self.key(relative))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True

    def download(self, relative: str, path: Path) -> bool:
        """Fetch the object into ``path`` atomically; False when the bucket has no such key."""
        from botocore.exceptions import ClientError

        temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        try:
            self.client.download_file(self.name, self.key(relative), str(temporary))
            os.replace(temporary, path)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"404", "NoSuchKey"}:
                return False
            raise
        finally:
            temporary.unlink(missing_ok=True)
        return True

    def delete(self, relative: str, *, tree: bool) -> None:
        if not tree:
            self.client.delete_object(Bucket=self.name, Key=self.key(relative))
            return
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.name, Prefix=self.key(relative.rstrip("/") + "/")
        )
        for page in pages:
            keys = [{"Key": entry["Key"]} for entry in page.get("Contents", [])]
            if keys:
                self.client.delete_objects(Bucket=self.name, Delete={"Objects": keys})


_buckets: dict[Path, Bucket | None] = {}
_lock = threading.Lock()


def register(settings: Settings) -> None:
    """Use ``settings``' bucket (or none) for its data dir in this process."""
    bucket = Bucket.from_settings(settings) if settings.s3_bucket else None
    with _lock:
        _buckets[settings.data_dir.resolve()] = bucket


def bucket_of(data_dir: Path) -> Bucket | None:
    """The bucket behind ``data_dir``: as registered, or as this process's settings say."""
    root = data_dir.resolve()
    if root not in _buckets:
        settings = get_settings()
        if settings.data_dir.resolve() == root:
            register(settings)
    return _buckets.get(root)


def publish(data_dir: Path, relative: str) -> None:
    """Upload a complete local file to the bucket behind ``data_dir`` (nothing without one)."""
    bucket = bucket_of(data_dir)
    if bucket is not None:
        bucket.upload(relative, data_dir / relative)


def remove(data_dir: Path, relative: str) -> None:
    """Remove a file nothing refers to (an upload refused or rolled back), and its object."""
    (data_dir / relative).unlink(missing_ok=True)
    bucket = bucket_of(data_dir)
    if bucket is not None:
        bucket.delete(relative, tree=False)


def exists(data_dir: Path, relative: str) -> bool:
    """Whether the file is there: in the data dir, or else in the bucket behind it."""
    if (data_dir / relative).is_file():
        return True
    bucket = bucket_of(data_dir)
    return bucket is not None and bucket.has(relative)


def ensure_local(data_dir: Path, relative: str, path: Path) -> None:
    """Make ``path`` (``relative`` under ``data_dir``) a local copy of its object, if the
    bucket has it; the caller finds out a missing file as before (``FileNotFoundError``)."""
    bucket = bucket_of(data_dir)
    if bucket is None:
        return
    if path.exists():
        os.utime(path)  # its time of last use orders the cache's evictions
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    if bucket.download(relative, path):
        _trim(data_dir, bucket, keep=path)


def _trim(data_dir: Path, bucket: Bucket, *, keep: Path) -> None:
    """Evict the least recently used local copies past the cache size (at most every 10 s)."""
    now = time.monotonic()
    if now - bucket._last_trim < TRIM_INTERVAL_S:
        return
    bucket._last_trim = now
    files = [
        (entry.stat().st_mtime, entry.stat().st_size, entry)
        for folder in FOLDERS
        for entry in (data_dir / folder).rglob("*")
        if entry.is_file() and not entry.name.startswith(".") and entry != keep
    ]
    total = sum(size for _, size, _ in files) + keep.stat().st_size
    for _, size, entry in sorted(files, key=lambda row: row[0]):
        if total <= bucket.cache_bytes:
            break
        entry.unlink(missing_ok=True)  # an open reader keeps its copy until it closes
        total -= size


def _remove_object(path: Path, tree: bool) -> None:
    """``db.hooks`` removed ``path`` after a commit: remove its object (or prefix) too."""
    path = path.resolve()
    for root, bucket in list(_buckets.items()):
        if bucket is not None and path.is_relative_to(root):
            relative = path.relative_to(root).as_posix()
            try:
                bucket.delete(relative, tree=tree)
            except Exception:  # a leftover object must not fail a committed delete
                log.warning("could not remove %s from bucket %s", relative, bucket.name)


hooks.on_file_removed(_remove_object)
