"""The client of Understudy's control API (``/_understudy/v1``) and Mimic's behaviours.

Everything the client does is stack-wide unless a method says otherwise: it talks to
Identity (the URL it is given) and lets the stack fan the call out (``?scope=stack``),
or, where a call is for one service, finds that service's mock through the catalog.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, TypeVar, Union
from urllib.parse import urlsplit

from ._http import JSON, Response, TimeLike, Transport, UnderstudyError, format_time, parse_time
from .tenant import COMPUTE_BEHAVIOR, Tenant, authenticate

__all__ = [
    "Behavior",
    "ClockReading",
    "FaultRule",
    "JournalEntry",
    "Understudy",
]

CONTROL = "/_understudy/v1"

#: Seconds, as a number or a ``timedelta``.
Seconds = Union[float, int, timedelta]

#: The services a mock can be (``match.service`` of a fault rule).
SERVICES = ("identity", "compute", "lb")


def _seconds(value: Seconds) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _origin(url: str) -> str:
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if not parts.scheme or not parts.netloc:
        raise ValueError(f"not a URL: {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def _check_stack_read(answer: Response) -> JSON:
    """A stack-wide read names the mocks it could not read under ``unreached``; a test
    should not go on with half the stack's answer."""
    body = answer.body
    if isinstance(body, dict) and body.get("unreached"):
        raise UnderstudyError(
            502,
            {
                "error": {
                    "code": 502,
                    "message": f"the stack read did not reach {', '.join(body['unreached'])}",
                },
                **body,
            },
        )
    return body


# --------------------------------------------------------------------------------- clock


@dataclass(frozen=True)
class ClockReading:
    """The virtual clock: ``now``, ``mode`` (``running`` or ``frozen``) and, when running,
    its ``offset_ms`` from wall time."""

    now: datetime
    mode: str
    offset_ms: int | None

    @property
    def frozen(self) -> bool:
        return self.mode == "frozen"

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> ClockReading:
        offset = body.get("offset_ms")
        return cls(
            now=parse_time(str(body["now"])),
            mode=str(body["mode"]),
            offset_ms=int(offset) if offset is not None else None,
        )

    def state(self) -> dict[str, Any]:
        """This reading as a clock state for ``PUT /clock`` (:meth:`Clock.restore`)."""
        if self.frozen:
            return {"mode": "frozen", "at": format_time(self.now)}
        return {"mode": "running", "offset_ms": self.offset_ms or 0}


class Clock:
    """The stack's one virtual clock. Every call reaches every mock (the mock that
    receives it spreads it); each change returns the new ``now``."""

    def __init__(self, client: Understudy) -> None:
        self._client = client

    def get(self, service: str | None = None) -> ClockReading:
        """``GET /clock`` of Identity (or of ``service``'s mock: every mock reads the
        stack's one clock)."""
        return ClockReading.from_json(self._client._control("GET", "/clock", service=service).body)

    def now(self) -> datetime:
        """The virtual ``now`` (aware, UTC)."""
        return self.get().now

    def _change(self, path: str, body: object = None) -> datetime:
        return ClockReading.from_json(self._client._control("POST", path, body).body).now

    def advance(self, seconds: Seconds) -> datetime:
        """``POST /clock/advance``: moves time forward by ``seconds`` (0 or more; ``set``
        goes back), keeping the clock running or frozen as it was."""
        return self._change("/clock/advance", {"seconds": _seconds(seconds)})

    def tick(self, seconds: Seconds) -> datetime:
        """``POST /clock/tick``, Mimic's tick: time stands still between ticks. Freezes the
        clock where it reads now, then moves it forward by ``seconds`` (0 or more), in one
        step, so two ticks of 5 and 2.5 s move ``now`` by exactly 7.5 s."""
        return self._change("/clock/tick", {"seconds": _seconds(seconds)})

    def freeze(self, at: TimeLike | None = None) -> datetime:
        """``POST /clock/freeze``: stops time (at ``at``, or where it reads now)."""
        return self._change("/clock/freeze", None if at is None else {"at": format_time(at)})

    def unfreeze(self) -> datetime:
        """``POST /clock/unfreeze``: time runs again from where it stands."""
        return self._change("/clock/unfreeze")

    def set(self, now: TimeLike) -> datetime:
        """``POST /clock/set``: the clock reads ``now``, running or frozen as it was."""
        return self._change("/clock/set", {"now": format_time(now)})

    def reset(self) -> datetime:
        """``POST /clock/reset``: back to wall time, running."""
        return self._change("/clock/reset")

    def restore(self, reading: ClockReading | Mapping[str, Any]) -> datetime:
        """``PUT /clock``: the whole state, from a :class:`ClockReading` (``get()``) or
        ``{"mode": "running", "offset_ms": n}`` / ``{"mode": "frozen", "at": ts}``."""
        state = reading.state() if isinstance(reading, ClockReading) else dict(reading)
        return ClockReading.from_json(self._client._control("PUT", "/clock", state).body).now

    @contextmanager
    def frozen(self, at: TimeLike | None = None) -> Iterator[datetime]:
        """Freezes the clock for the block (yielding the frozen ``now``); afterwards time
        runs again from wherever the block left it, unless it was frozen before."""
        was_frozen = self.get().frozen
        now = self.freeze(at)
        try:
            yield now
        finally:
            if not was_frozen:
                self.unfreeze()


# -------------------------------------------------------------------------------- faults


_Removable = TypeVar("_Removable", bound="_RemovedAtExit")


class _RemovedAtExit:
    """Something a suite made that ``remove`` undoes; used in a ``with`` block, it is
    removed when the block ends (already gone is fine then)."""

    def remove(self, missing_ok: bool = False) -> None:
        raise NotImplementedError

    def __enter__(self: _Removable) -> _Removable:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.remove(missing_ok=True)


@dataclass(frozen=True)
class Counters:
    """What one service's copy of a rule has done."""

    matched: int
    fired: int


class FaultRule(_RemovedAtExit):
    """A fault rule the stack keeps, with what it has done.

    ``rule`` is the rule as stored (``match``, ``action``, ``budget``, ...); a rule sent
    stack-wide is kept by every mock, each copy naming its own service, and ``rule`` is
    then the first copy's with ``match.service`` set to ``None``. ``services`` lists the
    services keeping a copy; ``matched`` and ``fired`` add up every copy's counters
    (``counters`` has them per service). :meth:`refresh` reads them again.

    Used as a context manager, the rule is removed when the block ends.
    """

    def __init__(self, faults: Faults, copies: Sequence[Mapping[str, Any]]) -> None:
        if not copies:
            raise ValueError("a fault rule needs at least one stored copy")
        self._faults = faults
        self.id: str = str(copies[0]["id"])
        self.rule: dict[str, Any] = {}
        self.services: tuple[str, ...] = ()
        self.counters: dict[str, Counters] = {}
        self._update(copies)

    def _update(self, copies: Sequence[Mapping[str, Any]]) -> None:
        first = {k: v for k, v in copies[0].items() if k not in ("matched", "fired")}
        services = tuple(str((c.get("match") or {}).get("service") or "") for c in copies)
        if len(copies) > 1:
            first["match"] = {**(first.get("match") or {}), "service": None}
        self.rule = first
        self.services = services
        self.counters = {
            s: Counters(int(c.get("matched") or 0), int(c.get("fired") or 0))
            for s, c in zip(services, copies)
        }

    @property
    def matched(self) -> int:
        """Requests that matched (every copy's, as last read)."""
        return sum(c.matched for c in self.counters.values())

    @property
    def fired(self) -> int:
        """Requests the rule acted on (every copy's, as last read)."""
        return sum(c.fired for c in self.counters.values())

    @property
    def action(self) -> dict[str, Any]:
        action: dict[str, Any] = self.rule.get("action") or {}
        return action

    @property
    def stack_wide(self) -> bool:
        return len(self.services) > 1

    def refresh(self) -> FaultRule:
        """Reads the counters (and the rule) again; raises :class:`UnderstudyError`
        404 once the rule is gone."""
        self._update(self._faults._copies(self.id))
        return self

    def remove(self, missing_ok: bool = False) -> None:
        """Removes the rule from every mock that keeps it."""
        self._faults.remove(self.id, missing_ok=missing_ok)

    def __repr__(self) -> str:
        return (
            f"FaultRule(id={self.id!r}, services={self.services!r}, "
            f"matched={self.matched}, fired={self.fired}, action={self.action!r})"
        )


class Faults:
    """Fault rules: ``add``, ``injected`` (a context manager), ``list``, ``get``,
    ``remove``, ``clear``."""

    def __init__(self, client: Understudy) -> None:
        self._client = client

    def add(
        self,
        rule: Mapping[str, Any] | None = None,
        *,
        service: str | None = None,
        match: Mapping[str, Any] | None = None,
        action: Mapping[str, Any] | None = None,
        budget: Mapping[str, Any] | None = None,
        priority: int | None = None,
        description: str | None = None,
        id: str | None = None,
    ) -> FaultRule:
        """Adds a rule: ``rule`` in the API's JSON shape, and/or its parts as keywords
        (keywords win).

        ``service`` (or ``match.service``) chooses the mock that keeps the rule; it is
        sent to that mock's own control API. Without one, the rule is sent with
        ``?scope=stack``: every mock keeps a copy and fails its own requests.
        """
        body: dict[str, Any] = dict(rule or {})
        for key, value in (
            ("match", match),
            ("action", action),
            ("budget", budget),
            ("priority", priority),
            ("description", description),
            ("id", id),
        ):
            if value is not None:
                body[key] = dict(value) if isinstance(value, Mapping) else value
        if "action" not in body:
            raise ValueError("a fault rule needs an action")
        matcher: dict[str, Any] = dict(body.get("match") or {})
        named = matcher.get("service")
        if service is not None and named is not None and named != service:
            raise ValueError(f"service={service!r} but match.service={named!r}")
        service = service or named
        if service is not None:
            matcher["service"] = service
            body["match"] = matcher
            answer = self._client._control("POST", "/faults", body, service=service).body
            return FaultRule(self, [answer])
        answer = self._client._control("POST", "/faults", body, params={"scope": "stack"}).body
        copies = [
            r["body"]
            for r in answer.get("results", [])
            if isinstance(r.get("body"), dict) and "id" in r["body"]
        ]
        return FaultRule(self, copies)

    @contextmanager
    def injected(
        self,
        rule: Mapping[str, Any] | None = None,
        *,
        service: str | None = None,
        match: Mapping[str, Any] | None = None,
        action: Mapping[str, Any] | None = None,
        budget: Mapping[str, Any] | None = None,
        priority: int | None = None,
        description: str | None = None,
        id: str | None = None,
    ) -> Iterator[FaultRule]:
        """``with faults.injected(...) as rule:`` adds the rule (as :meth:`add`) for the
        block and removes it afterwards."""
        added = self.add(
            rule,
            service=service,
            match=match,
            action=action,
            budget=budget,
            priority=priority,
            description=description,
            id=id,
        )
        try:
            yield added
        finally:
            added.remove(missing_ok=True)

    def _all(self) -> list[dict[str, Any]]:
        body = _check_stack_read(self._client._control("GET", "/faults", params={"scope": "stack"}))
        rules: list[dict[str, Any]] = body.get("faults", [])
        return rules

    def _copies(self, rule_id: str) -> list[dict[str, Any]]:
        # One call that answers 404 in the API's own words when no mock keeps the rule
        # (it looks for the rule across the stack), then every copy for the counters.
        one = self._client._control("GET", f"/faults/{rule_id}").body
        copies = [r for r in self._all() if r.get("id") == rule_id]
        return copies or [one]

    def list(self) -> list[FaultRule]:
        """Every rule of the stack (``GET /faults?scope=stack``), copies of one rule
        folded into one :class:`FaultRule`, in the order the stack listed them."""
        grouped: dict[str, list[dict[str, Any]]] = {}
        for r in self._all():
            grouped.setdefault(str(r.get("id")), []).append(r)
        return [FaultRule(self, copies) for copies in grouped.values()]

    def get(self, rule_id: str | FaultRule) -> FaultRule:
        """One rule, wherever the stack keeps it (404 :class:`UnderstudyError` if none)."""
        rid = rule_id.id if isinstance(rule_id, FaultRule) else rule_id
        return FaultRule(self, self._copies(rid))

    def remove(self, rule_id: str | FaultRule, missing_ok: bool = False) -> None:
        """``DELETE /faults/{id}?scope=stack``: removes every copy of the rule."""
        rid = rule_id.id if isinstance(rule_id, FaultRule) else rule_id
        try:
            self._client._control("DELETE", f"/faults/{rid}", params={"scope": "stack"})
        except UnderstudyError as e:
            if not (missing_ok and e.status == 404):
                raise

    def clear(self) -> None:
        """``DELETE /faults?scope=stack``: every rule of every mock."""
        self._client._control("DELETE", "/faults", params={"scope": "stack"})


# ---------------------------------------------------------------------------- behaviours


class Behavior(_RemovedAtExit):
    """A registered Mimic behaviour (``id``); removed by :meth:`remove`, or when the
    ``with`` block it was used in ends."""

    def __init__(self, client: Understudy, event: str, id: str, url: str, body: Mapping[str, Any]):
        self._client = client
        self.event = event
        self.id = id
        #: Where it lives (``DELETE`` removes it).
        self.url = url
        #: What was registered: ``{"criteria", "name", "parameters"}``.
        self.registration = dict(body)

    @property
    def name(self) -> str:
        return str(self.registration.get("name", ""))

    def remove(self, missing_ok: bool = False) -> None:
        try:
            self._client._control_transport.request("DELETE", self.url)
        except UnderstudyError as e:
            if not (missing_ok and e.status == 404):
                raise

    def __repr__(self) -> str:
        return f"Behavior(event={self.event!r}, id={self.id!r}, name={self.name!r})"


Criteria = Union[Mapping[str, Any], Sequence[Mapping[str, Any]], None]


def _registration(name: str, parameters: Mapping[str, Any] | None, criteria: Criteria) -> dict[str, Any]:
    """Mimic's registration body. ``criteria`` is Mimic's list of one-key objects, or one
    mapping (each key becomes one criterion)."""
    if criteria is None:
        listed: list[dict[str, Any]] = []
    elif isinstance(criteria, Mapping):
        listed = [{k: v} for k, v in criteria.items()]
    else:
        listed = [dict(c) for c in criteria]
    return {"criteria": listed, "name": name, "parameters": dict(parameters or {})}


class Nova:
    """Mimic's compute controls, at the ``cloudServersBehavior`` endpoint of the catalog
    (per tenant and region)."""

    def __init__(self, client: Understudy) -> None:
        self._client = client

    def behavior_url(self, tenant: Tenant | str, region: str | None = None) -> str:
        """The tenant's ``cloudServersBehavior`` endpoint in ``region`` (default: the
        tenant's region; required when ``tenant`` is a tenant id)."""
        if isinstance(tenant, Tenant):
            if region is None or region == tenant.region:
                if tenant.compute_behavior_url:
                    return tenant.compute_behavior_url
            return tenant.endpoint(COMPUTE_BEHAVIOR[0], region or tenant.region)
        if region is None:
            raise ValueError("region is required when tenant is given by id")
        return self._client._catalog_url(COMPUTE_BEHAVIOR, tenant, region)

    def creation_behavior(
        self,
        tenant: Tenant | str,
        name: str,
        parameters: Mapping[str, Any] | None = None,
        criteria: Criteria = None,
        *,
        region: str | None = None,
    ) -> Behavior:
        """Registers a ``creation`` behaviour (``POST {cloudServersBehavior}/behaviors/creation``):
        ``name`` is ``fail``, ``false-negative``, ``build``, ``error``,
        ``active-then-error``, ``sequence`` or ``default``; ``criteria`` match
        ``server_name`` (regex) and ``metadata`` (key to regex)."""
        base = self.behavior_url(tenant, region)
        body = _registration(name, parameters, criteria)
        answer = self._client._control_transport.request("POST", f"{base}/behaviors/creation", body)
        bid = str(answer.body["id"])
        return Behavior(self._client, "creation", bid, f"{base}/behaviors/creation/{bid}", body)

    def set_status(
        self,
        tenant: Tenant | str,
        statuses: Mapping[str, str],
        *,
        region: str | None = None,
    ) -> None:
        """Forces server statuses (``POST {cloudServersBehavior}/attributes``):
        ``{server_id: "ERROR", ...}``; every id must name a server of the tenant."""
        base = self.behavior_url(tenant, region)
        self._client._control_transport.request(
            "POST", f"{base}/attributes", {"status": dict(statuses)}
        )


class IdentityControls:
    """Mimic's identity controls (``/mimic/v1.1/IdentityControlAPI``)."""

    def __init__(self, client: Understudy) -> None:
        self._client = client

    def auth_behavior(
        self,
        name: str,
        parameters: Mapping[str, Any] | None = None,
        criteria: Criteria = None,
    ) -> Behavior:
        """Registers an ``auth`` behaviour (``fail``, ``sequence``, ``default``) whose
        ``criteria`` match ``username`` and ``tenant_id`` (regexes)."""
        base = f"{self._client.url}/mimic/v1.1/IdentityControlAPI/behaviors/auth"
        body = _registration(name, parameters, criteria)
        answer = self._client._control_transport.request("POST", base, body)
        bid = str(answer.body["id"])
        return Behavior(self._client, "auth", bid, f"{base}/{bid}", body)

    def external_api(
        self,
        name: str,
        type: str,
        public_url: str,
        *,
        internal_url: str | None = None,
        regions: Sequence[str] = ("ORD",),
        everyone: bool = True,
        token: str = "understudy-client",
    ) -> ExternalApi:
        """Adds a service named ``name`` of ``type`` to the catalog, with one endpoint
        per region; ``%tenant_id%`` in the URLs becomes each tenant's id. Every tenant
        sees it (``everyone``), or only those :meth:`ExternalApi.enable` names. ``token``
        goes in ``X-Auth-Token`` of every call, this one's and the ``ExternalApi``'s: any
        text in open mode; in strict mode an identity admin's token."""
        if isinstance(regions, str):
            raise TypeError("regions is a sequence of region names, not one string")
        headers = {"X-Auth-Token": token}
        base = f"{self._client.url}/v2.0"
        answer = self._client._transport.request(
            "POST", f"{base}/services", {"name": name, "type": type}, headers=headers
        )
        service = answer.body["OS-KSADM:service"]
        # Every template it may have made is named, so that a failure part way (even one
        # whose answer was lost) removes them all with the service.
        api = ExternalApi(self._client, token, service, [f"{service['id']}-{r}" for r in regions])
        try:
            for region in regions:
                tid = f"{service['id']}-{region}"
                template = {
                    "id": tid,
                    "region": region,
                    "type": type,
                    "name": name,
                    "publicURL": public_url,
                    "internalURL": internal_url or public_url,
                    "enabled": everyone,
                }
                self._client._transport.request(
                    "POST", f"{base}/OS-KSCATALOG/endpointTemplates", template, headers=headers,
                    params={"serviceId": service["id"]},
                )
        except BaseException:
            try:
                api.remove(missing_ok=True)
            except UnderstudyError:
                pass  # the first failure is the one to see
            raise
        return api


class ExternalApi(_RemovedAtExit):
    """A service of the suite's own in every catalog, as Mimic's external APIs: an
    OS-KSADM service and one OS-KSCATALOG endpoint template per region. Removed (its
    templates, then the service) by :meth:`remove`, or when the ``with`` block it was
    used in ends."""

    def __init__(self, client: Understudy, token: str, service: Mapping[str, Any], template_ids: Sequence[str]):
        self._client = client
        self._headers = {"X-Auth-Token": token}
        #: The service as Identity keeps it: ``{"id", "name", "type", "description"}``.
        self.service = dict(service)
        self.template_ids = list(template_ids)

    @property
    def id(self) -> str:
        return str(self.service["id"])

    def _call(self, method: str, path: str, body: object = None) -> Response:
        url = f"{self._client.url}/v2.0{path}"
        return self._client._transport.request(method, url, body, headers=self._headers)

    def enable(self, tenant: Tenant | str) -> None:
        """Shows the service's endpoints in ``tenant``'s catalog (for a service made with
        ``everyone=False``)."""
        tid = tenant.tenant_id if isinstance(tenant, Tenant) else tenant
        for t in self.template_ids:
            body = {"OS-KSCATALOG:endpointTemplate": {"id": t}}
            self._call("POST", f"/tenants/{tid}/OS-KSCATALOG/endpoints", body)

    def disable(self, tenant: Tenant | str) -> None:
        """Hides again what :meth:`enable` showed ``tenant``."""
        tid = tenant.tenant_id if isinstance(tenant, Tenant) else tenant
        for t in self.template_ids:
            self._call("DELETE", f"/tenants/{tid}/OS-KSCATALOG/endpoints/{t}")

    def remove(self, missing_ok: bool = False) -> None:
        try:
            for t in self.template_ids:
                try:
                    self._call("DELETE", f"/OS-KSCATALOG/endpointTemplates/{t}")
                except UnderstudyError as e:
                    if e.status != 404:
                        raise
            self._call("DELETE", f"/services/{self.id}")
        except UnderstudyError as e:
            if not (missing_ok and e.status == 404):
                raise

    def __repr__(self) -> str:
        return f"ExternalApi(id={self.id!r}, name={self.service.get('name')!r})"


# ------------------------------------------------------------------------------- journal


@dataclass(frozen=True)
class JournalEntry:
    """One request a mock answered (``GET /journal``)."""

    seq: int
    time: datetime
    received_us: int
    service: str
    method: str
    path: str
    #: The route pattern that answered (``/v2/{tenant_id}/servers/{server_id}``), as
    #: ``/metrics`` labels it; ``None`` for an unknown route.
    route: str | None
    query: str
    status: int
    tenant: str | None
    region: str | None
    latency_us: int
    request_id: str
    #: Id of the fault rule that fired, if one did.
    rule: str | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, e: Mapping[str, Any]) -> JournalEntry:
        return cls(
            seq=int(e.get("seq") or 0),
            time=parse_time(str(e["time"])),
            received_us=int(e.get("received_us") or 0),
            service=str(e.get("service", "")),
            method=str(e.get("method", "")),
            path=str(e.get("path", "")),
            route=e.get("route"),
            query=str(e.get("query") or ""),
            status=int(e.get("status") or 0),
            tenant=e.get("tenant"),
            region=e.get("region"),
            latency_us=int(e.get("latency_us") or 0),
            request_id=str(e.get("request_id", "")),
            rule=e.get("rule"),
            raw=e,
        )

    def __str__(self) -> str:
        query = f"?{self.query}" if self.query else ""
        fired = f" (rule {self.rule})" if self.rule else ""
        return f"{self.service} {self.method} {self.path}{query} -> {self.status}{fired}"


def _journal_params(
    service: str | None,
    tenant: str | Tenant | None,
    method: str | None,
    path: str | None,
    status: int | None,
    rule: str | FaultRule | None,
    since: TimeLike | None,
    until: TimeLike | None,
    limit: int | None,
) -> dict[str, object]:
    return {
        "scope": "stack",
        "service": service,
        "tenant": tenant.tenant_id if isinstance(tenant, Tenant) else tenant,
        "method": method,
        "path": path,
        "status": status,
        "rule": rule.id if isinstance(rule, FaultRule) else rule,
        "since": None if since is None else format_time(since),
        "until": None if until is None else format_time(until),
        "limit": limit,
    }


# -------------------------------------------------------------------------------- client


class Understudy:
    """A client of one Understudy stack.

    ``url`` is Identity's base URL (``http://localhost:5000``); the other mocks are
    found through the catalog where a call is for one of them. ``admin_token`` is sent
    as ``X-Admin-Token`` with every control call (this API's and Mimic's).
    """

    def __init__(self, url: str, admin_token: str | None = None, *, timeout: float = 30.0) -> None:
        self.url = _origin(url)
        self.admin_token = admin_token
        headers = {"X-Admin-Token": admin_token} if admin_token else {}
        self._control_transport = Transport(headers, timeout)
        self._transport = Transport({}, timeout)
        self._services: dict[str, str] | None = None
        self._catalog: dict[str, Any] | None = None
        self.clock = Clock(self)
        self.faults = Faults(self)
        self.nova = Nova(self)
        self.identity = IdentityControls(self)

    def __repr__(self) -> str:
        return f"Understudy({self.url!r})"

    # -- plumbing

    def _control(
        self,
        method: str,
        path: str,
        body: object = None,
        *,
        params: Mapping[str, object] | None = None,
        service: str | None = None,
    ) -> Response:
        origin = self.url if service is None else self.service_url(service)
        return self._control_transport.request(method, f"{origin}{CONTROL}{path}", body, params=params)

    def catalog(self, refresh: bool = False) -> dict[str, Any]:
        """The catalog settings (``GET /catalog``): how the mocks find each other."""
        if self._catalog is None or refresh:
            self._catalog = self._control("GET", "/catalog").body
        return self._catalog

    def _catalog_url(self, names: tuple[str, str], tenant_id: str, region: str) -> str:
        for s in self.catalog()["services"]:
            if s.get("name") == names[0] or s.get("type") == names[1]:
                return _render(str(s["public_url"]), tenant_id, region).rstrip("/")
        raise KeyError(f"the catalog lists no {names[0]}")

    def services(self, refresh: bool = False) -> dict[str, str]:
        """Each mock of the stack by service name (``identity``, ``compute``, ``lb``): the
        origin of its control API, from the catalog's public URLs, each asked who it is
        (``GET /health``)."""
        if self._services is not None and not refresh:
            return self._services
        origins = [self.url]
        for s in self.catalog(refresh)["services"]:
            if s.get("external"):
                continue
            origin = _origin(_render(str(s["public_url"]), "t", "R"))
            if origin not in origins:
                origins.append(origin)
        found: dict[str, str] = {}
        for origin in origins:
            try:
                health = self._control_transport.request("GET", f"{origin}{CONTROL}/health").body
            except UnderstudyError:
                continue
            name = health.get("service") if isinstance(health, dict) else None
            if isinstance(name, str):
                found.setdefault(name, origin)
        self._services = found
        return found

    def service_url(self, service: str) -> str:
        """The origin of one service's mock (``compute`` → ``http://localhost:8774``)."""
        if service == "identity":
            return self.url
        services = self.services()
        if service not in services:
            services = self.services(refresh=True)
        if service not in services:
            raise KeyError(f"no {service!r} mock in the stack's catalog (found {sorted(services)})")
        return services[service]

    # -- health

    def health(self, service: str | None = None) -> dict[str, Any]:
        """``GET /health`` of Identity (or of ``service``)."""
        body: dict[str, Any] = self._control("GET", "/health", service=service).body
        return body

    def ready(self) -> bool:
        """Whether every mock of the stack answers ``/ready`` with 200."""
        try:
            for origin in {self.url, *self.services(refresh=True).values()}:
                self._control_transport.request("GET", f"{origin}{CONTROL}/ready")
        except UnderstudyError:
            return False
        return True

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Waits until every mock is ready; raises :class:`TimeoutError` after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not self.ready():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the stack at {self.url} was not ready after {timeout} s")
            time.sleep(0.1)

    # -- state

    def reset(self, tenant: str | Tenant | None = None) -> None:
        """``POST /reset?scope=stack``: every mock forgets its records, fault rules,
        behaviours and journal (or, with ``tenant``, that tenant's records). The clock
        and revocations stay (:meth:`Clock.reset` resets the clock)."""
        tid = tenant.tenant_id if isinstance(tenant, Tenant) else tenant
        self._control("POST", "/reset", params={"scope": "stack", "tenant": tid})

    def state(self) -> dict[str, Any]:
        """``GET /state?scope=stack``: every mock's records, ``{"services": [...]}``."""
        body: dict[str, Any] = self._control("GET", "/state", params={"scope": "stack"}).body
        return body

    def load_state(self, snapshot: Mapping[str, Any]) -> JSON:
        """``PUT /state?scope=stack`` with a snapshot :meth:`state` returned: every mock
        takes its records back. Returns the answer's body."""
        return self._control("PUT", "/state", dict(snapshot), params={"scope": "stack"}).body

    # -- journal

    def journal(
        self,
        *,
        service: str | None = None,
        tenant: str | Tenant | None = None,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        rule: str | FaultRule | None = None,
        since: TimeLike | None = None,
        until: TimeLike | None = None,
        limit: int | None = None,
    ) -> list[JournalEntry]:
        """The stack's journal, one timeline oldest first (``GET /journal?scope=stack``).
        ``path`` is a prefix; ``since``/``until`` are virtual times; ``limit`` keeps the
        newest entries."""
        params = _journal_params(service, tenant, method, path, status, rule, since, until, limit)
        body = _check_stack_read(self._control("GET", "/journal", params=params))
        return [JournalEntry.from_json(e) for e in body.get("entries", [])]

    def journal_har(
        self,
        *,
        service: str | None = None,
        tenant: str | Tenant | None = None,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
        rule: str | FaultRule | None = None,
        since: TimeLike | None = None,
        until: TimeLike | None = None,
        limit: int | None = None,
    ) -> dict[str, Any]:
        """The same entries as a HAR 1.2 document (``GET /journal.har?scope=stack``):
        ``{"log": {"version": "1.2", "creator": ..., "entries": [...]}}``."""
        params = _journal_params(service, tenant, method, path, status, rule, since, until, limit)
        body: dict[str, Any] = self._control("GET", "/journal.har", params=params).body
        return body

    def clear_journal(self) -> None:
        """``DELETE /journal?scope=stack``."""
        self._control("DELETE", "/journal", params={"scope": "stack"})

    # -- tenants

    def tenant(
        self,
        tenant_id: str | None = None,
        username: str | None = None,
        password: str = "understudy",
        *,
        region: str | None = None,
    ) -> Tenant:
        """Authenticates (``POST /v2.0/tokens``, password credentials) as ``username`` in
        ``tenant_id``. Neither given: both are made up, unique (open user mode). A username
        alone: its own tenant (in open mode, the one it was first seen with: a user's tenant
        is settled then, and another is a 401)."""
        unique = uuid.uuid4()
        if username is None:
            username = f"understudy-{unique.hex[:12]}"
            if tenant_id is None:
                tenant_id = f"9{unique.int % 10**9:09d}"
        return authenticate(self._transport, self.url, username, password, tenant_id, region)


def _render(template: str, tenant_id: str, region: str) -> str:
    return (
        template.replace("{tenant_id}", tenant_id)
        .replace("{region}", region)
        .replace("{region_lower}", region.lower())
    )
