"""Server settings, read from ``TIMESIDE_*`` environment variables.

The audio core never reads these: the server passes what the core needs as arguments.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of a deployment; defaults give the embedded mode (SQLite, no Redis)."""

    model_config = SettingsConfigDict(env_prefix="TIMESIDE_", extra="ignore")

    data_dir: Path = Field(Path("var"), description="Root of the database file, media and results.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default sqlite:///<data_dir>/timeside.db."
    )
    db_pool_size: int = Field(
        5,
        gt=0,
        description="Database connections each process keeps open (SQLAlchemy pool), and the "
        "API operations of a process that work with the database at once.",
    )
    db_max_overflow: int = Field(
        10, ge=0, description="Connections a process may open past the pool under load."
    )
    db_pool_timeout_s: float = Field(
        10,
        gt=0,
        description="Seconds a request waits for a free pooled connection before it is answered "
        "busy (API operations first wait for one of the pool's slots, within the request "
        "timeout).",
    )
    redis_url: str | None = Field(
        None, description="Redis URL for the broker and events; unset runs jobs in-process."
    )
    redis_namespace: str = Field(
        "timeside", description="Prefix of Redis keys and channels, so deployments can share one."
    )
    secret_key: str = Field(
        "",
        description="Signs media URLs; unset, a random key is made once in <data_dir>/secret_key.",
    )
    media_url_ttl_s: int = Field(
        3600, gt=0, description="Seconds a signed media URL (stream, file, image) stays valid."
    )
    debug: bool = Field(False, description="Tracebacks in errors.")
    playground: bool = Field(
        True, description="Serve GraphiQL at GET /graphql (browsers) and the player page at /."
    )
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed by CORS (JSON list)."
    )
    max_upload_mb: int = Field(2048, description="Largest accepted upload, in MiB.")
    require_login: bool = Field(False, description="Refuse anonymous reads, public objects too.")
    max_page_size: int = Field(100, description="Largest `first` of a connection.")
    max_query_depth: int = Field(12, description="Deepest nesting a query may have.")
    max_aliases: int = Field(30, description="Most aliases one query may use.")
    max_query_tokens: int = Field(
        5000,
        gt=0,
        description="Most tokens (names, punctuation) a GraphQL document may have; longer "
        "ones are refused while parsing, before validation.",
    )
    request_timeout_s: float = Field(
        30,
        gt=0,
        description="Seconds a /graphql operation (JSON) may take before it is cut and "
        "answered 503 TIMEOUT.",
    )
    transcode_wait_s: float = Field(
        20,
        gt=0,
        description="Seconds a request for an uncached whole-file transcode waits for it; past "
        "that it is answered 503 with Retry-After while the encode goes on.",
    )
    max_nesting: int = Field(
        64,
        gt=0,
        description="Deepest nesting of a JSON body or WebSocket message, and of a GraphQL "
        "document's brackets and fragment spreads.",
    )
    max_string_length: int = Field(
        65536, gt=0, description="Longest string argument (a description, a text), in characters."
    )
    max_list_length: int = Field(10000, gt=0, description="Most entries of a list argument.")
    max_tags: int = Field(100, gt=0, description="Most tag names in a filter or on one object.")
    max_search_length: int = Field(256, gt=0, description="Longest search string.")
    max_series_points: int = Field(
        10000, gt=0, description="Largest `maxPoints` of a series and `pixels` of a waveform."
    )
    max_points_per_query: int = Field(
        200_000,
        gt=0,
        description="Most series points and waveform pixels one operation may ask for in all.",
    )
    token_ttl_days: int | None = Field(
        None,
        gt=0,
        le=36_500,
        description="Lifetime of tokens issued by `login`, in days; unset never expires.",
    )
    login_attempts_per_account: int = Field(
        10, gt=0, description="Failed logins of one username per window before RateLimited."
    )
    login_attempts_per_address: int = Field(
        50, gt=0, description="Failed logins from one client address per window."
    )
    login_window_s: int = Field(
        300, gt=0, description="Seconds a window of failed logins lasts (RateLimited until then)."
    )
    job_time_limit: float = Field(
        600, description="Seconds a job may run before it is interrupted and marked failed."
    )
    job_max_retries: int = Field(
        3, description="Retries of a job after a transient (database or broker connection) error."
    )
    worker_heartbeat_timeout: float = Field(
        60, description="Seconds of silence after which a worker counts as dead (Redis broker)."
    )
    outbox_interval_s: float = Field(
        2, gt=0, description="Seconds between passes sending messages the broker missed."
    )
    janitor_interval_s: float = Field(
        300, gt=0, description="Seconds between sweeps of files and rows a dead process left."
    )
    embedded_worker_threads: int = Field(
        1, description="Threads of the in-process worker that runs jobs when Redis is unset."
    )
    download_timeout_s: float = Field(
        300, description="Seconds one download from a URL or provider may take in total."
    )
    max_download_mb: int = Field(
        512, description="Largest download from a URL or provider, in MiB."
    )
    allow_private_urls: bool = Field(
        False,
        description="Fetch URLs on private, loopback and link-local addresses (SSRF guard off).",
    )
    webhook_timeout_s: float = Field(
        10, gt=0, description="Seconds one webhook POST may take before it counts as failed."
    )
    webhook_max_attempts: int = Field(
        10, gt=0, description="Attempts at a webhook delivery before it is recorded failed."
    )
    webhook_min_backoff_ms: int = Field(
        30_000, gt=0, description="Wait before the first retry of a delivery; doubles each time."
    )
    webhook_max_backoff_ms: int = Field(
        3_600_000, gt=0, description="Longest wait between two attempts at a delivery."
    )
    deezer_api_url: str = Field(
        "https://api.deezer.com", description="Base URL of the Deezer public API."
    )
    s3_bucket: str | None = Field(
        None,
        description="S3 bucket holding media and results, shared by every process; unset keeps "
        "them in the data dir only.",
    )
    s3_endpoint_url: str | None = Field(
        None, description="S3 API endpoint (MinIO, Ceph, moto…); unset: AWS."
    )
    s3_region: str | None = Field(None, description="Region of the bucket.")
    s3_prefix: str = Field("", description="Key prefix of this deployment's objects.")
    s3_access_key_id: str | None = Field(
        None, description="S3 access key; unset: boto3's usual sources (AWS_* variables, roles)."
    )
    s3_secret_access_key: str | None = Field(None, description="S3 secret key.")
    s3_cache_mb: int = Field(
        4096, gt=0, description="Size of the data dir's local copies of bucket files, in MiB."
    )

    @property
    def signing_key(self) -> str:
        """The secret key, or the random one every process sharing the data dir agrees on,
        made on first use (a command that signs nothing leaves no file)."""
        return self.secret_key or _stored_secret(self.data_dir.resolve() / "secret_key")

    @property
    def job_stale_s(self) -> float:
        """Seconds without a heartbeat after which a running job's process counts as dead."""
        return self.worker_heartbeat_timeout / 2

    @property
    def heartbeat_interval_s(self) -> float:
        """Seconds between heartbeats of running jobs, and between reconciler passes."""
        return self.worker_heartbeat_timeout / 6

    @property
    def stale_file_s(self) -> float:
        """Age past which a temporary file of any process is left over: no job outlives its
        time limit."""
        return self.job_time_limit + self.worker_heartbeat_timeout

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'timeside.db'}"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def results_dir(self) -> Path:
        return self.data_dir / "results"


@lru_cache
def _stored_secret(path: Path) -> str:
    """Read the key, or create it atomically (mode 0600) so concurrent first starts agree."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")
    with os.fdopen(fd, "w") as file:
        file.write(secrets.token_urlsafe(48))
    try:
        os.link(tmp, path)  # fails if another process got there first: keep theirs
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)
    return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings; tests call ``get_settings.cache_clear()`` after changing env."""
    return Settings()
