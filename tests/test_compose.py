"""compose.yaml and the Dockerfile stay consistent (Docker itself cannot run here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.jobs.live import Deployment, instance_env
from timeside_gql.db.migrate import upgrade

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


def test_the_app_healthcheck_passes_against_a_live_server(tmp_path: Path) -> None:
    """compose.yaml's command, run as written but for the port (a free one, not 8000), passes
    against a real ``timeside-gql serve``, and fails once the server is gone."""
    healthcheck = services()["app"]["healthcheck"]["test"]
    assert healthcheck[:3] == ["CMD", "python", "-c"] and "127.0.0.1:8000/" in healthcheck[3]
    db_url = f"sqlite:///{tmp_path / 'timeside.db'}"
    upgrade(db_url)
    deployment = Deployment(instance_env(tmp_path, db_url), tmp_path)
    try:
        deployment.serve()
        script = healthcheck[3].replace("127.0.0.1:8000/", f"127.0.0.1:{deployment.port}/")
        passed = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=30)
        assert passed.returncode == 0, passed.stderr.decode()
    finally:
        deployment.stop()
    failed = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=30)
    assert failed.returncode != 0
