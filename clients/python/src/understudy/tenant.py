"""An authenticated tenant: its token and the endpoints its catalog names."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ._http import JSON, Response, Transport, UnderstudyError, parse_time

__all__ = ["Tenant", "endpoint_of"]

# Catalog names and types of the services a tenant's endpoints are read from.
COMPUTE = ("cloudServersOpenStack", "compute")
LOAD_BALANCERS = ("cloudLoadBalancers", "rax:load-balancer")
IDENTITY = ("cloudIdentity", "identity")
IMAGES = ("cloudImages", "image")
COMPUTE_BEHAVIOR = ("cloudServersBehavior", "rax:mimic-compute-control")
LB_CONTROL = ("cloudLoadBalancerControl", "rax:mimic-lb-control")


def endpoint_of(
    catalog: Sequence[Mapping[str, Any]],
    name: str,
    kind: str | None = None,
    region: str | None = None,
) -> str | None:
    """The ``publicURL`` of a service of a Keystone v2 ``serviceCatalog``, found by name
    (or else by type), in ``region`` (or else the first region it lists)."""
    candidates = [s for s in catalog if s.get("name") == name]
    if not candidates and kind is not None:
        candidates = [s for s in catalog if s.get("type") == kind]
    for service in candidates:
        endpoints: Sequence[Mapping[str, Any]] = service.get("endpoints") or []
        chosen = [e for e in endpoints if region is None or e.get("region") == region]
        # A global endpoint (no region) serves every region.
        chosen = chosen or [e for e in endpoints if not e.get("region")]
        for e in chosen:
            url = e.get("publicURL")
            if isinstance(url, str):
                return url.rstrip("/")
    return None


@dataclass
class Tenant:
    """A tenant authenticated with ``POST /v2.0/tokens``.

    The URLs are the ``publicURL`` of the token's catalog in ``region`` (the user's
    ``RAX-AUTH:defaultRegion``); ``None`` where the catalog lists no such service.
    """

    tenant_id: str
    username: str
    user_id: str
    token: str = field(repr=False)
    region: str
    expires: datetime | None
    identity_url: str
    compute_url: str | None
    lb_url: str | None
    images_url: str | None
    compute_behavior_url: str | None
    lb_control_url: str | None
    #: The whole ``access`` object Identity answered.
    access: Mapping[str, Any] = field(repr=False)
    _transport: Transport = field(repr=False, compare=False)

    @classmethod
    def from_access(
        cls,
        access: Mapping[str, Any],
        identity_base: str,
        transport: Transport,
        region: str | None = None,
    ) -> Tenant:
        token = access["token"]
        user = access.get("user", {})
        catalog: Sequence[Mapping[str, Any]] = access.get("serviceCatalog") or []
        if region is None:
            region = user.get("RAX-AUTH:defaultRegion") or _first_region(catalog) or ""
        expires = token.get("expires")
        return cls(
            tenant_id=str(token.get("tenant", {}).get("id", "")),
            username=str(user.get("name", "")),
            user_id=str(user.get("id", "")),
            token=str(token["id"]),
            region=region,
            expires=parse_time(expires) if isinstance(expires, str) else None,
            identity_url=endpoint_of(catalog, *IDENTITY, region=region) or identity_base,
            compute_url=endpoint_of(catalog, *COMPUTE, region=region),
            lb_url=endpoint_of(catalog, *LOAD_BALANCERS, region=region),
            images_url=endpoint_of(catalog, *IMAGES, region=region),
            compute_behavior_url=endpoint_of(catalog, *COMPUTE_BEHAVIOR, region=region),
            lb_control_url=endpoint_of(catalog, *LB_CONTROL, region=region),
            access=access,
            _transport=transport,
        )

    @property
    def catalog(self) -> Sequence[Mapping[str, Any]]:
        """The token's ``serviceCatalog``."""
        catalog: Sequence[Mapping[str, Any]] = self.access.get("serviceCatalog") or []
        return catalog

    @property
    def headers(self) -> dict[str, str]:
        """``X-Auth-Token``, for the HTTP client of the system under test."""
        return {"X-Auth-Token": self.token}

    def endpoint(self, name: str, region: str | None = None) -> str:
        """The ``publicURL`` of a catalog service, by name or type, in ``region``
        (default: this tenant's region)."""
        url = endpoint_of(self.catalog, name, name, region or self.region)
        if url is None:
            raise KeyError(f"no {name!r} endpoint in {region or self.region}")
        return url

    def request(
        self,
        method: str,
        url: str,
        body: object = None,
        *,
        params: Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Sends a request with this tenant's token. ``url`` may be relative to
        ``compute_url`` (``"/servers"``). Non-2xx raises :class:`UnderstudyError`."""
        if url.startswith("/"):
            if self.compute_url is None:
                raise ValueError("the catalog names no compute endpoint for relative URLs")
            url = self.compute_url + url
        return self._transport.request(
            method, url, body, params=params, headers={**self.headers, **(headers or {})}
        )

    def get(self, url: str, **params: object) -> JSON:
        """``GET`` with this tenant's token; the parsed answer."""
        return self.request("GET", url, params=params).body


def _first_region(catalog: Sequence[Mapping[str, Any]]) -> str | None:
    for service in catalog:
        for e in service.get("endpoints") or []:
            if e.get("region"):
                return str(e["region"])
    return None


def authenticate(
    transport: Transport,
    identity: str,
    username: str,
    password: str,
    tenant_id: str | None,
    region: str | None = None,
) -> Tenant:
    """``POST /v2.0/tokens`` with password credentials."""
    auth: dict[str, Any] = {"passwordCredentials": {"username": username, "password": password}}
    if tenant_id is not None:
        auth["tenantId"] = tenant_id
    answer = transport.request("POST", f"{identity}/v2.0/tokens", {"auth": auth}).body
    if not isinstance(answer, dict) or "access" not in answer:
        raise UnderstudyError(200, answer, method="POST", url=f"{identity}/v2.0/tokens")
    return Tenant.from_access(answer["access"], identity, transport, region)
