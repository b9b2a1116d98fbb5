"""/graphql refuses a body past its limit while it streams (Strawberry reads a JSON body whole
into memory), whoever sends it."""

from __future__ import annotations

import json

from tests.api.conftest import Api
from timeside_gql.http.app import MAX_JSON_BODY


def test_json_body_over_the_limit_is_refused(api: Api) -> None:
    document = {"query": "{ me { id } }", "variables": {"pad": "x" * (MAX_JSON_BODY + 1)}}
    body = json.dumps(document).encode()

    def chunks():  # type: ignore[no-untyped-def]  # chunked: no Content-Length to go by
        for start in range(0, len(body), 1 << 20):
            yield body[start : start + (1 << 20)]

    headers = {"Content-Type": "application/json"}
    response = api.client.post("/graphql", content=chunks(), headers=headers)
    assert response.status_code == 413, response.text[:200]
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert "larger than 16 MiB" in error["message"]


def test_json_body_under_the_limit_is_served(api: Api) -> None:
    padded = {"query": "{ me { id } }", "variables": {"pad": "x" * (1 << 20)}}
    response = api.client.post("/graphql", json=padded)
    assert response.status_code == 200 and response.json() == {"data": {"me": None}}
