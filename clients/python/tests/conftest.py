"""The package's tests run against the real binary: $UNDERSTUDY_BIN, else the
workspace's target/debug/understudy (the plugin's `understudy` fixture starts it)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from understudy import Tenant

REPO = Path(__file__).resolve().parents[3]

if not os.environ.get("UNDERSTUDY_URL") and not os.environ.get("UNDERSTUDY_BIN"):
    os.environ["UNDERSTUDY_BIN"] = str(REPO / "target" / "debug" / "understudy")


@pytest.fixture
def image_ref(understudy_tenant: Tenant) -> str:
    return str(understudy_tenant.get("/images")["images"][0]["id"])


@pytest.fixture
def create_server(understudy_tenant: Tenant, image_ref: str) -> Any:
    """create_server(name, metadata=None, tenant=None) -> server id (POST /servers, 202)."""

    def create(name: str, metadata: dict[str, str] | None = None, tenant: Tenant | None = None) -> str:
        server: dict[str, Any] = {"name": name, "imageRef": image_ref, "flavorRef": "2"}
        if metadata:
            server["metadata"] = metadata
        answer = (tenant or understudy_tenant).request("POST", "/servers", {"server": server})
        assert answer.status == 202, answer.body
        return str(answer.body["server"]["id"])

    return create


@pytest.fixture
def server_status(understudy_tenant: Tenant) -> Any:
    """server_status(id, tenant=None) -> the server's status (GET /servers/{id})."""

    def status(server_id: str, tenant: Tenant | None = None) -> str:
        return str((tenant or understudy_tenant).get(f"/servers/{server_id}")["server"]["status"])

    return status
