"""compose.yaml and the Dockerfile stay consistent (Docker itself cannot run here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent


def services() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]


def test_compose_runs_app_worker_db_broker_and_bucket_from_one_image() -> None:
    found = services()
    assert {"app", "worker", "db", "broker", "migrate", "objects", "bucket"} <= found.keys()
    assert found["app"]["command"][0] == "serve"
    assert found["worker"]["command"] == ["worker"]
    assert found["app"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    for name in ("app", "worker", "migrate"):
        env = found[name]["environment"]
        assert env["TIMESIDE_DATABASE_URL"].startswith("postgresql://")
        assert env["TIMESIDE_REDIS_URL"].startswith("redis://broker:")
        assert (
            env["TIMESIDE_S3_BUCKET"] and env["TIMESIDE_S3_ENDPOINT_URL"] == "http://objects:9000"
        )
        assert (
            env["TIMESIDE_S3_SECRET_ACCESS_KEY"]
            == found["objects"]["environment"]["MINIO_ROOT_PASSWORD"]
        )
    # The bucket is what they share: no volume is mounted by both the app and the workers.
    assert not set(found["app"].get("volumes", [])) & set(found["worker"].get("volumes", []))


def test_dockerfile_serves_by_default_on_python_311_slim() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in dockerfile
    assert 'ENTRYPOINT ["timeside-gql"]' in dockerfile
    assert "TIMESIDE_DATA_DIR=/var/lib/timeside" in dockerfile
