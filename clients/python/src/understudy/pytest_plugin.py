"""The ``understudy`` pytest plugin (entry point ``pytest11``).

Fixtures:

- ``understudy`` (session): an :class:`~understudy.Understudy` client of the stack at
  ``--understudy-url`` / ``$UNDERSTUDY_URL``, or of an ``understudy`` binary
  (``--understudy-bin`` / ``$UNDERSTUDY_BIN`` / ``PATH``) started on free ports for the
  session and stopped at its end.
- ``understudy_tenant``: a fresh authenticated tenant (:class:`~understudy.Tenant`).

Every test that uses the stack starts on a clean one: every mock's records, fault rules,
behaviours and journal are forgotten and the clock goes back to wall time, unless the
test is marked ``@pytest.mark.understudy_keep_state``. When such a test fails, the
requests the stack journalled during it (HAR, and the JSON journal) and a snapshot of
the stack's state are written under ``--understudy-artifacts`` (default
``.understudy-artifacts``) and attached to the report as sections.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from ._http import UnderstudyError
from .client import Understudy
from .stack import LocalStack, StackError, find_binary
from .tenant import Tenant

KEEP_STATE = "understudy_keep_state"


@dataclass(frozen=True)
class _TestStart:
    """Where a test started in the journal: the virtual time after its reset."""

    since: datetime


@dataclass
class _Artifacts:
    directory: Path
    written: int = 0


_CLIENT = pytest.StashKey[Understudy]()
_START = pytest.StashKey[_TestStart]()
_ARTIFACTS = pytest.StashKey[_Artifacts]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("understudy", "Understudy mock stack")
    group.addoption(
        "--understudy-url",
        default=None,
        metavar="URL",
        help="Identity's base URL of a running stack (default: $UNDERSTUDY_URL; "
        "neither: start the understudy binary)",
    )
    group.addoption(
        "--understudy-bin",
        default=None,
        metavar="PATH",
        help="the understudy binary to start (default: $UNDERSTUDY_BIN, else PATH)",
    )
    group.addoption(
        "--understudy-admin-token",
        default=None,
        metavar="TOKEN",
        help="sent as X-Admin-Token with control calls (default: $UNDERSTUDY_ADMIN_TOKEN)",
    )
    group.addoption(
        "--understudy-artifacts",
        default=".understudy-artifacts",
        metavar="DIR",
        help="where a failing test's journal (HAR) and state snapshot are written "
        "(default: .understudy-artifacts)",
    )
    group.addoption(
        "--understudy-attach",
        default="summary",
        choices=("summary", "full", "off"),
        help="what a failing test's report shows: the requests and the files' paths "
        "(summary, default), the whole HAR and state (full), or nothing and no files (off)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{KEEP_STATE}: do not reset the Understudy stack (records, fault rules, "
        "behaviours, journal, clock) before this test",
    )
    directory = Path(config.getoption("understudy_artifacts"))
    if not directory.is_absolute():
        directory = config.invocation_params.dir / directory
    config.stash[_ARTIFACTS] = _Artifacts(directory)


@pytest.fixture(scope="session")
def understudy(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Understudy]:
    """The stack's client, for the whole session."""
    url = pytestconfig.getoption("understudy_url") or os.environ.get("UNDERSTUDY_URL")
    token = pytestconfig.getoption("understudy_admin_token") or os.environ.get(
        "UNDERSTUDY_ADMIN_TOKEN"
    )
    if url:
        client = Understudy(url, token or None)
        try:
            client.wait_ready(timeout=30)
        except TimeoutError as e:
            pytest.fail(f"understudy: {e}", pytrace=False)
        pytestconfig.stash[_CLIENT] = client
        yield client
        return
    binary = find_binary(pytestconfig.getoption("understudy_bin"))
    if binary is None:
        pytest.fail(
            "understudy: no stack. Set UNDERSTUDY_URL (or --understudy-url) to a running "
            "stack's Identity URL, or UNDERSTUDY_BIN (or --understudy-bin) to the "
            "understudy binary, or put understudy on PATH",
            pytrace=False,
        )
    log = tmp_path_factory.mktemp("understudy") / "stack.log"
    stack = LocalStack(binary, admin_token=token or None, log_path=log)
    try:
        client = stack.start()
    except StackError as e:
        pytest.fail(f"understudy: {e}", pytrace=False)
    pytestconfig.stash[_CLIENT] = client
    try:
        yield client
    finally:
        del pytestconfig.stash[_CLIENT]
        stack.stop()


@pytest.fixture(autouse=True)
def _understudy_isolation(request: pytest.FixtureRequest) -> None:
    """Resets the stack before each test that uses it (unless marked
    ``understudy_keep_state``) and remembers where the test started in the journal."""
    if "understudy" not in request.fixturenames:
        return
    client: Understudy = request.getfixturevalue("understudy")
    if request.node.get_closest_marker(KEEP_STATE) is None:
        # The clock first: a call is journaled at the time it arrives, so a reset of
        # the clock made after the journal's would leave that call behind, in the future.
        client.clock.reset()
        client.reset()
    request.node.stash[_START] = _TestStart(since=client.clock.now())


@pytest.fixture
def understudy_tenant(understudy: Understudy, _understudy_isolation: None) -> Tenant:
    """A fresh tenant with a unique id and user, authenticated with a password
    (``POST /v2.0/tokens``); its URLs are the catalog's for the user's default region."""
    return understudy.tenant()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed and report.when in ("setup", "call"):
        try:
            _attach(item, report)
        except Exception as e:  # reporting must never hide the test's own failure
            report.sections.append(("understudy", f"could not attach the stack's journal: {e!r}"))
    return report


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    artifacts = config.stash.get(_ARTIFACTS, None)
    if artifacts is not None and artifacts.written:
        terminalreporter.write_line(
            f"understudy: journal and state of {artifacts.written} failed test(s) "
            f"in {artifacts.directory}"
        )


def _attach(item: pytest.Item, report: pytest.TestReport) -> None:
    mode = item.config.getoption("understudy_attach")
    client = item.config.stash.get(_CLIENT, None)
    if mode == "off" or client is None or "understudy" not in getattr(item, "fixturenames", ()):
        return
    artifacts = item.config.stash[_ARTIFACTS]
    directory = artifacts.directory / _safe_name(item.nodeid)
    directory.mkdir(parents=True, exist_ok=True)

    start = item.stash.get(_START, None)
    since = start.since if start is not None else None
    # A test that moved the clock back before its start would hide its own requests.
    if since is not None and client.clock.now() < since:
        since = None

    entries = client._control(
        "GET", "/journal", params={"scope": "stack", "since": since}
    ).body.get("entries", [])
    journal_json = directory / "journal.json"
    _write(journal_json, entries)
    har_path: Path | None = None
    har: dict[str, Any] | None = None
    har_error = ""
    try:
        har = client.journal_har(since=since)
        har_path = directory / "journal.har"
        _write(har_path, har)
    except UnderstudyError as e:
        har_error = str(e)
    state_path = directory / "state.json"
    try:
        state: Any = client.state()
    except UnderstudyError as e:
        state = {"error": str(e)}
    _write(state_path, state)
    artifacts.written += 1

    report.user_properties.append(("understudy_journal", str(journal_json)))
    report.user_properties.append(("understudy_state", str(state_path)))
    if har_path is not None:
        report.user_properties.append(("understudy_har", str(har_path)))

    if mode == "full":
        har_text = json.dumps(har, indent=2) if har is not None else f"unavailable: {har_error}"
        report.sections.append(("understudy journal (HAR)", har_text))
        report.sections.append(("understudy state", json.dumps(state, indent=2)))
        return
    lines = [
        f"HAR: {har_path}" if har_path is not None else f"HAR unavailable: {har_error}",
        f"JSON: {journal_json}",
    ]
    control = 0
    for entry in entries:
        path = str(entry.get("path", ""))
        if path.startswith("/_understudy/"):
            control += 1
            continue
        query = f"?{entry['query']}" if entry.get("query") else ""
        fired = f"  (fault rule {entry['rule']})" if entry.get("rule") else ""
        lines.append(
            f"{entry.get('time', '')}  {entry.get('service', '')}  {entry.get('method', '')} "
            f"{path}{query} -> {entry.get('status', '')}{fired}"
        )
    if control:
        lines.append(f"(and {control} control-API calls, in the files)")
    report.sections.append(("understudy journal", "\n".join(lines)))
    report.sections.append(("understudy state", f"{state_path}\n{_state_summary(state)}"))


def _state_summary(state: Any) -> str:
    if not isinstance(state, dict) or not isinstance(state.get("services"), list):
        return json.dumps(state)[:500]
    lines = []
    for s in state["services"]:
        tables = s.get("tables") if isinstance(s, dict) else None
        if not isinstance(tables, dict):
            continue
        counts = []
        for name, partitions in sorted(tables.items()):
            n = sum(len(p.get("records", [])) for p in partitions if isinstance(p, dict))
            if n:
                counts.append(f"{name}={n}")
        lines.append(f"{s.get('service', '?')}: {', '.join(counts) or 'empty'}")
    return "\n".join(lines)


def _safe_name(nodeid: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_.") or "test"
    if len(name) > 120:
        name = f"{name[:100]}-{hashlib.sha1(nodeid.encode()).hexdigest()[:12]}"
    return name


def _write(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2) + "\n")
