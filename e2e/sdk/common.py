"""Shared plumbing of the SDK compatibility scenarios (standard library only: every venv
imports it).

Each test_*.py script calls `Suite(sdk).scenario(name, fn)` for each scenario and ends with
`suite.finish()`. A scenario prints exactly one result line:

    PASS openstacksdk: v2 password lifecycle (0.41s)
    FAIL openstacksdk: v2 password lifecycle (0.12s): list images: NotFound: ...
    SKIP novaclient: refused with bad credentials: open user mode

and, for a failure, indented detail lines on stderr (the traceback's last frames and the
requests the mocks journalled while the scenario ran). run.sh counts the result lines.

Settings come from the environment, set by run.sh:

    SDK_IDENTITY_URL   Identity's base URL (http://localhost:5000), no /v2.0
    SDK_STRICT         "1" when Identity runs in strict user mode
    SDK_USER, SDK_PASSWORD, SDK_API_KEY, SDK_TENANT
                       the good user (strict mode); open mode makes up its own
    SDK_REGION         region to work in (default ORD)
    SDK_TIMEOUT        seconds to wait for ACTIVE / deletion (default 60)
"""

import json
import os
import sys
import time
import traceback
import urllib.parse
import urllib.request
import uuid

IDENTITY_URL = os.environ.get("SDK_IDENTITY_URL", "http://localhost:5000").rstrip("/")
STRICT = os.environ.get("SDK_STRICT", "") == "1"
REGION = os.environ.get("SDK_REGION", "ORD")
TIMEOUT = float(os.environ.get("SDK_TIMEOUT", "60"))
BAD_PASSWORD = "definitely-not-the-password"


class Creds:
    """The good user. Open mode: a made-up user and tenant per SDK (any password works)."""

    def __init__(self, sdk, tenant):
        if STRICT:
            self.username = os.environ["SDK_USER"]
            self.password = os.environ["SDK_PASSWORD"]
            self.api_key = os.environ.get("SDK_API_KEY") or None
            self.tenant_id = os.environ.get("SDK_TENANT") or None
        else:
            self.username = "sdk-%s" % sdk
            self.password = "sdk-password"
            self.api_key = "sdk-api-key"
            self.tenant_id = tenant

    def __repr__(self):
        return "Creds(%s, tenant=%s, strict=%s)" % (self.username, self.tenant_id, STRICT)


def unique(prefix):
    return "sdk-%s-%s" % (prefix, uuid.uuid4().hex[:8])


def check(cond, message):
    """assert that survives python -O, with a message that says what was expected."""
    if not cond:
        raise AssertionError(message)


def wait_for(what, fn, timeout=None, interval=0.2):
    """Polls fn() until it returns a truthy value; AssertionError naming `what` on timeout.
    fn may raise StopWaiting to fail at once (e.g. a server went to ERROR)."""
    deadline = time.monotonic() + (timeout or TIMEOUT)
    last = None
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout or TIMEOUT, what))
        time.sleep(interval)


class StopWaiting(AssertionError):
    pass


# ---------------------------------------------------------------- journal evidence


def _http_json(url, method="GET", body=None, timeout=5):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read() or b"null")


def _mock_bases():
    """scheme://host:port of Identity and of every mocked (non-external) catalog service."""
    bases = [IDENTITY_URL]
    try:
        cat = _http_json(IDENTITY_URL + "/_understudy/v1/catalog")
        for svc in cat.get("services", []):
            url = svc.get("public_url") or ""
            if svc.get("external") or not url.startswith("http"):
                continue
            u = urllib.parse.urlsplit(url.replace("{", "").replace("}", ""))
            base = "%s://%s" % (u.scheme, u.netloc)
            if base not in bases:
                bases.append(base)
    except Exception:  # evidence is best effort
        pass
    return bases


def journal_marks():
    """The highest journal seq of every mock, so a failure can show what came after."""
    marks = {}
    for base in _mock_bases():
        try:
            entries = _http_json(base + "/_understudy/v1/journal?limit=1").get("entries", [])
            marks[base] = entries[-1]["seq"] if entries else 0
        except Exception:
            marks[base] = None
    return marks


def journal_since(marks, limit=40):
    """Requests journalled by any mock after `marks`, oldest first, deduplicated (the
    launcher serves one journal on every port)."""
    seen, rows = set(), []
    for base, mark in marks.items():
        if mark is None:
            continue
        try:
            entries = _http_json(base + "/_understudy/v1/journal?limit=200").get("entries", [])
        except Exception as e:
            rows.append(("", "journal of %s unavailable: %s" % (base, e)))
            continue
        for e in entries:
            if e.get("seq", 0) <= mark or e.get("request_id") in seen:
                continue
            if (e.get("path") or "").startswith("/_understudy"):
                continue
            seen.add(e.get("request_id"))
            q = ("?" + e["query"]) if e.get("query") else ""
            rows.append(
                (
                    e.get("time", ""),
                    "%-6s %s%s -> %s [%s]%s"
                    % (
                        e.get("method"),
                        e.get("path"),
                        q,
                        e.get("status"),
                        e.get("service"),
                        (" rule=%s" % e["rule"]) if e.get("rule") else "",
                    ),
                )
            )
    rows.sort()
    return [r[1] for r in rows[-limit:]]


# ---------------------------------------------------------------- scenarios


class Suite:
    def __init__(self, sdk):
        self.sdk = sdk
        self.passed = 0
        self.failed = 0
        self.step_name = None

    def step(self, name):
        """Names the step a failure happened in."""
        self.step_name = name
        if os.environ.get("SDK_VERBOSE"):
            print("    . %s" % name, flush=True)

    def skip(self, name, why):
        print("SKIP %s: %s: %s" % (self.sdk, name, why), flush=True)

    def scenario(self, name, fn, *args):
        self.step_name = None
        marks = journal_marks()
        t0 = time.monotonic()
        try:
            fn(*args)
        except BaseException as e:  # noqa: BLE001 - report everything, including SystemExit
            if isinstance(e, KeyboardInterrupt):
                raise
            self.failed += 1
            dt = time.monotonic() - t0
            where = ("%s: " % self.step_name) if self.step_name else ""
            msg = "%s%s: %s" % (where, type(e).__name__, str(e).strip().replace("\n", " ")[:400])
            print("FAIL %s: %s (%.2fs): %s" % (self.sdk, name, dt, msg), flush=True)
            tb = traceback.format_exception(type(e), e, e.__traceback__)
            lines = "".join(tb).rstrip().splitlines()
            err = sys.stderr
            print("    traceback (last lines):", file=err)
            for line in lines[-12:]:
                print("      " + line, file=err)
            rows = journal_since(marks)
            print("    requests the mocks saw during the scenario (%d):" % len(rows), file=err)
            for r in rows:
                print("      " + r, file=err)
            err.flush()
        else:
            self.passed += 1
            print("PASS %s: %s (%.2fs)" % (self.sdk, name, time.monotonic() - t0), flush=True)

    def finish(self):
        sys.exit(1 if self.failed else 0)
