"""The one HTTP helper every part of the client uses: stdlib ``urllib``, JSON in and out."""

from __future__ import annotations

import json
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Union

__all__ = [
    "JSON",
    "Response",
    "Transport",
    "UnderstudyError",
    "format_time",
    "parse_time",
]

#: What ``json.loads`` gives back.
JSON = Any

#: A point in time as the client accepts it: an aware or naive (taken as UTC) datetime,
#: or a timestamp string passed through as written.
TimeLike = Union[datetime, str]


class UnderstudyError(Exception):
    """A call that was not answered with a 2xx.

    ``status`` is the HTTP status (0 when the server could not be reached at all),
    ``body`` the answer parsed as JSON when it is JSON, else its text.
    """

    def __init__(
        self,
        status: int,
        body: JSON,
        *,
        method: str = "",
        url: str = "",
    ) -> None:
        self.status = status
        self.body = body
        self.method = method
        self.url = url
        super().__init__(self._describe())

    @property
    def message(self) -> str:
        """The error text of the answer, whatever format the API wrote it in."""
        body = self.body
        if isinstance(body, dict):
            error = body.get("error")
            if isinstance(error, dict) and isinstance(error.get("message"), str):
                return str(error["message"])
            # Nova / CLB / Keystone style: {"computeFault": {"message": ...}}
            for value in body.values():
                if isinstance(value, dict) and isinstance(value.get("message"), str):
                    return str(value["message"])
            return json.dumps(body, sort_keys=True)[:500]
        if body is None:
            return ""
        return str(body)[:500]

    def _describe(self) -> str:
        where = f"{self.method} {self.url}".strip()
        status = "unreachable" if self.status == 0 else str(self.status)
        return f"{where}: {status} {self.message}".strip()


@dataclass(frozen=True)
class Response:
    """A 2xx answer."""

    status: int
    headers: Mapping[str, str]
    body: JSON
    text: str


def _default(value: object) -> object:
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value: object) -> bytes:
    """JSON as the mocks read it; datetimes become RFC 3339 UTC timestamps."""
    return json.dumps(value, default=_default, separators=(",", ":")).encode()


class Transport:
    """Sends requests with the headers every call of one client carries.

    Proxies from the environment are ignored: the mocks are the services under test,
    normally on this machine, never behind the developer's proxy.
    """

    def __init__(self, headers: Mapping[str, str] | None = None, timeout: float = 30.0) -> None:
        self.headers = dict(headers or {})
        self.timeout = timeout
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def request(
        self,
        method: str,
        url: str,
        body: object = None,
        *,
        params: Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
        raw_body: bytes | None = None,
        timeout: float | None = None,
    ) -> Response:
        """Sends one request; returns the 2xx answer or raises :class:`UnderstudyError`."""
        if params:
            query = urllib.parse.urlencode(
                [(k, _query_value(v)) for k, v in params.items() if v is not None]
            )
            if query:
                url = f"{url}{'&' if '?' in url else '?'}{query}"
        data = raw_body
        all_headers = {"Accept": "application/json", **self.headers, **(headers or {})}
        if data is None and body is not None:
            data = dumps(body)
        if data is not None:
            all_headers.setdefault("Content-Type", "application/json")
        req = urllib.request.Request(url, data=data, method=method.upper(), headers=all_headers)
        try:
            with self._opener.open(req, timeout=self.timeout if timeout is None else timeout) as res:
                return _response(res.status, dict(res.headers.items()), res.read())
        except urllib.error.HTTPError as e:
            answer = _response(e.code, dict(e.headers.items()) if e.headers else {}, e.read())
            raise UnderstudyError(e.code, answer.body, method=method.upper(), url=url) from None
        except (urllib.error.URLError, ConnectionError, socket.timeout, TimeoutError) as e:
            reason = getattr(e, "reason", e)
            raise UnderstudyError(0, str(reason), method=method.upper(), url=url) from None


def _query_value(value: object) -> str:
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _response(status: int, headers: dict[str, str], raw: bytes) -> Response:
    text = raw.decode("utf-8", errors="replace")
    body: JSON = None
    if text.strip():
        try:
            body = json.loads(text)
        except ValueError:
            body = text
    return Response(status=status, headers=headers, body=body, text=text)


def format_time(value: TimeLike) -> str:
    """An RFC 3339 UTC timestamp with microseconds (``2030-01-01T00:00:00.000000Z``);
    a naive datetime is taken as UTC; a string is passed through."""
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_TIMESTAMP = re.compile(
    r"^(?P<base>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d+))?"
    r"(?P<tz>Z|[+-]\d{2}:?\d{2})?$"
)


def parse_time(text: str) -> datetime:
    """Parses the timestamps the mocks write (RFC 3339, up to nanoseconds) as aware UTC."""
    m = _TIMESTAMP.match(text.strip())
    if not m:
        raise ValueError(f"not a timestamp: {text!r}")
    frac = (m.group("frac") or "")[:6].ljust(6, "0")
    tz = m.group("tz") or "Z"
    if tz == "Z":
        tz = "+00:00"
    elif ":" not in tz:
        tz = f"{tz[:3]}:{tz[3:]}"
    parsed = datetime.fromisoformat(f"{m.group('base').replace(' ', 'T')}.{frac}{tz}")
    return parsed.astimezone(timezone.utc)
