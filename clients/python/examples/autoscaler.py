"""A tiny autoscaler: the system under test of the example suite.

It knows nothing of Understudy: it talks to Nova over plain HTTP with a tenant's token,
as it would to the real service. It creates servers for a group (retrying a create that
failed with a 5xx), and reports which are ACTIVE.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any


class NovaError(Exception):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"Nova answered {status}: {body[:200]}")
        self.status = status


class Nova:
    """Just enough of a Nova client: JSON over HTTP with ``X-Auth-Token``."""

    def __init__(self, compute_url: str, token: str) -> None:
        self.url = compute_url.rstrip("/")
        self.token = token

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"X-Auth-Token": self.token, "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as res:
                raw = res.read()
        except urllib.error.HTTPError as e:
            raise NovaError(e.code, e.read().decode(errors="replace")) from None
        return json.loads(raw) if raw else None

    def create_server(self, name: str, image: str, flavor: str, metadata: dict[str, str]) -> str:
        server = {"name": name, "imageRef": image, "flavorRef": flavor, "metadata": metadata}
        return str(self.call("POST", "/servers", {"server": server})["server"]["id"])

    def server(self, server_id: str) -> dict[str, Any]:
        server: dict[str, Any] = self.call("GET", f"/servers/{server_id}")["server"]
        return server


@dataclass
class ScalingGroup:
    """Servers named ``{name}-{n}``, all from one launch configuration."""

    nova: Nova
    name: str
    image: str
    flavor: str = "2"
    metadata: dict[str, str] = field(default_factory=dict)
    retries: int = 2
    servers: list[str] = field(default_factory=list)

    def scale_up(self, count: int) -> list[str]:
        """Creates ``count`` servers; a create answered with a 5xx is tried again."""
        created = []
        for _ in range(count):
            name = f"{self.name}-{len(self.servers) + 1}"
            for attempt in range(self.retries + 1):
                try:
                    server_id = self.nova.create_server(
                        name, self.image, self.flavor, {"group": self.name, **self.metadata}
                    )
                    break
                except NovaError as e:
                    if e.status < 500 or attempt == self.retries:
                        raise
            self.servers.append(server_id)
            created.append(server_id)
        return created

    def statuses(self) -> dict[str, str]:
        return {s: str(self.nova.server(s)["status"]) for s in self.servers}

    def active(self) -> list[str]:
        return [s for s, status in self.statuses().items() if status == "ACTIVE"]
