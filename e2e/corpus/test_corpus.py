#!/usr/bin/env python3
"""A table-driven bad-input corpus over every route of the Understudy stack that takes a
body or an id: the emulated APIs (Keystone v2/v3, Nova + Glance, CLB), Mimic's control
routes and the shared control API.

    python3 test_corpus.py IDENTITY_URL COMPUTE_URL LB_URL [--only SUBSTR] [-v]

Every case asserts: a 4xx (never 2xx, never 5xx, never a hang: 10 s timeout), a JSON body
in the service's own error shape whose `code` equals the status, and the state of the
mock unchanged (GET /_understudy/v1/state before and after, clock and rate windows
ignored; the clock itself for clock routes; the journal capacity for its route).

Prints `FAIL route case: status body-snippet` per failing case, a count per route, and
ends with `corpus: N passed, M failed`. Exit 1 when any case failed. Python 3.11,
standard library only.
"""
from __future__ import annotations

import argparse
import http.client
import json
import socket
import sys
import time
import urllib.parse
import uuid
from collections import OrderedDict

TIMEOUT = 10
CONTROL = "/_understudy/v1"
REGION = "ORD"

MB = 1_000_000
BIDI = {"nul": "\u0000", "esc": "\u001b", "rlo": "\u202e"}
HOSTILE_IDS = OrderedDict(
    [
        ("id-4096", "a" * 4096),
        ("id-dotdot", "%2F..%2F"),  # sent as is (already encoded)
        ("id-unicode", "\u00f1\u2603\U0001f600"),
        ("id-sql", "1' OR '1'='1"),
        ("id-neg", "-1"),
        ("id-2^64", str(2**64)),
    ]
)
HUGE = 10**30


# --------------------------------------------------------------------------- HTTP


class Resp:
    def __init__(self, status, raw, error=None):
        self.status, self.raw, self.error = status, raw, error
        try:
            self.json = json.loads(raw) if raw else None
        except ValueError:
            self.json = None

    def snippet(self, n=160):
        if self.error:
            return self.error
        return self.raw[:n].decode("utf-8", "replace").replace("\n", " ")


def request(method, url, body=None, headers=None, token=None, ctype="application/json"):
    """One request with raw bytes; never raises (a timeout or reset is a Resp with error)."""
    u = urllib.parse.urlsplit(url)
    path = u.path + ("?" + u.query if u.query else "")
    h = {"Accept": "application/json"}
    if body is not None:
        h["Content-Type"] = ctype
    if token:
        h["X-Auth-Token"] = token
    h.update(headers or {})
    if isinstance(body, str):
        body = body.encode()
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=TIMEOUT)
    try:
        try:
            conn.request(method, path, body=body, headers=h)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer (413) before reading a big body
        res = conn.getresponse()
        return Resp(res.status, res.read())
    except (socket.timeout, TimeoutError):
        return Resp(0, b"", error=f"no answer within {TIMEOUT} s")
    except (OSError, http.client.HTTPException) as e:
        return Resp(0, b"", error=f"connection error: {type(e).__name__}: {e}")
    finally:
        conn.close()


def jcall(method, url, body=None, token=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    return request(method, url, data, headers=headers, token=token)


# --------------------------------------------------------------------------- shapes


def _num(v):
    return isinstance(v, int) and not isinstance(v, bool)


def shape_wrapped(r):
    """Keystone v2 / Nova: {"<kind>": {"message": str, "code": N}}."""
    b = r.json
    if not isinstance(b, dict) or len(b) != 1:
        return "not a one-key object"
    (kind, inner), = b.items()
    if not isinstance(inner, dict):
        return f"{kind} is not an object"
    if not isinstance(inner.get("message"), str):
        return f"{kind}.message is not a string"
    if not _num(inner.get("code")) or inner["code"] != r.status:
        return f"{kind}.code {inner.get('code')!r} != {r.status}"
    return None


def shape_v3(r):
    b = r.json
    e = b.get("error") if isinstance(b, dict) else None
    if not isinstance(e, dict) or set(b) != {"error"}:
        return "not {error: {...}}"
    if not _num(e.get("code")) or e["code"] != r.status:
        return f"error.code {e.get('code')!r} != {r.status}"
    if not isinstance(e.get("message"), str) or not isinstance(e.get("title"), str):
        return "error.message/title not strings"
    return None


def shape_clb(r):
    b = r.json
    if not isinstance(b, dict):
        return "not an object"
    if set(b) == {"overLimit"}:
        return shape_wrapped(r)
    if not isinstance(b.get("message"), str):
        return "message is not a string"
    if not _num(b.get("code")) or b["code"] != r.status:
        return f"code {b.get('code')!r} != {r.status}"
    extra = set(b) - {"message", "code", "details", "validationErrors"}
    if extra:
        return f"unexpected keys {sorted(extra)}"
    ve = b.get("validationErrors")
    if ve is not None and not (
        isinstance(ve, dict) and isinstance(ve.get("messages"), list)
        and all(isinstance(m, str) for m in ve["messages"])
    ):
        return "validationErrors.messages is not a list of strings"
    return None


def shape_glance(r):
    b = r.json
    if not isinstance(b, dict):
        return "not an object"
    code = b.get("code")
    if not isinstance(code, str) or not code.startswith(f"{r.status} "):
        return f"code {code!r} is not '{r.status} <reason>'"
    if not isinstance(b.get("message"), str) or not isinstance(b.get("title"), str):
        return "message/title not strings"
    return None


def shape_control(r):
    b = r.json
    e = b.get("error") if isinstance(b, dict) else None
    if not isinstance(e, dict):
        return "not {error: {...}}"
    if not _num(e.get("code")) or e["code"] != r.status:
        return f"error.code {e.get('code')!r} != {r.status}"
    if not isinstance(e.get("message"), str):
        return "error.message not a string"
    return None


SHAPES = {
    "keystone": shape_wrapped,
    "nova": shape_wrapped,
    "v3": shape_v3,
    "clb": shape_clb,
    "glance": shape_glance,
    "control": shape_control,
}


# --------------------------------------------------------------------------- state


IGNORED_TABLES = {"lb_rate_windows"}


def state_of(base):
    r = request("GET", base + CONTROL + "/state")
    if r.status != 200 or not isinstance(r.json, dict):
        return ("state unreadable", r.status, r.snippet())
    tables = {k: v for k, v in (r.json.get("tables") or {}).items() if k not in IGNORED_TABLES}
    return tables


def clock_of(base):
    c = request("GET", base + CONTROL + "/clock").json or {}
    # A running clock's `now` moves; its offset does not. A frozen clock's `now` is fixed.
    return {k: v for k, v in c.items() if k != "now" or c.get("mode") == "frozen"}


def capacity_of(base):
    return (request("GET", base + CONTROL + "/journal?limit=1").json or {}).get("capacity")


# --------------------------------------------------------------------------- runner


class Runner:
    def __init__(self, only=None, verbose=False):
        self.only, self.verbose = only, verbose
        self.counts = OrderedDict()  # route -> [passed, failed]
        self.failures = []

    def case(self, route, name, method, url, body=None, *, shape, snap, token=None,
             ctype="application/json", headers=None, allow=None):
        """Runs one case. `body`: bytes, str, or a JSON value (encoded here); `snap`: a
        callable returning what must not change; `allow`: extra statuses accepted."""
        if self.only and self.only not in f"{route} {name}":
            return
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body, ensure_ascii=False).encode()
        before = snap()
        r = request(method, url, body, headers=headers, token=token, ctype=ctype)
        problems = []
        if r.error:
            problems.append(r.error)
        elif not (400 <= r.status < 500) and r.status not in (allow or ()):
            problems.append(f"status {r.status} is not 4xx")
        if not r.error and 400 <= r.status < 500:
            if r.json is None:
                problems.append("body is not JSON")
            else:
                p = SHAPES[shape](r)
                if p:
                    problems.append(f"shape({shape}): {p}")
        after = snap()
        if before != after:
            problems.append("state changed")
        c = self.counts.setdefault(route, [0, 0])
        if problems:
            c[1] += 1
            line = f"FAIL {route} {name}: {r.status} {r.snippet()} [{'; '.join(problems)}]"
            self.failures.append(line)
            print(line, flush=True)
        else:
            c[0] += 1
            if self.verbose:
                print(f"ok   {route} {name}: {r.status} {r.snippet(80)}", flush=True)
        return r


# --------------------------------------------------------------------------- generators


def get_path(obj, path):
    for k in path:
        obj = obj[k]
    return obj


def set_path(obj, path, value):
    obj = json.loads(json.dumps(obj))
    cur = obj
    for k in path[:-1]:
        cur = cur[k]
    cur[path[-1]] = value
    return obj


def del_path(obj, path):
    obj = json.loads(json.dumps(obj))
    cur = obj
    for k in path[:-1]:
        cur = cur[k]
    del cur[path[-1]]
    return obj


def nest(depth):
    return ("[" * depth + "]" * depth)


WRONG = {"str": 12345, "int": "abc", "list": {"a": 1}, "obj": ["a"], "bool": "maybe-not"}


class F:
    """A field of a body: path from the root, kind (str/int/list/obj/bool), and rules."""

    def __init__(self, path, kind, required=False, enum=False, name=False, neg_ok=False,
                 bad_enum="BOGUS_VALUE"):
        self.path = tuple(path)
        self.kind, self.required, self.enum, self.name = kind, required, enum, name
        self.neg_ok, self.bad_enum = neg_ok, bad_enum

    @property
    def label(self):
        return ".".join(str(p) for p in self.path)


def body_cases(run, route, method, url, template, fields, *, shape, snap, token=None,
               wrapper=None, big=False, form=True, all_null=True, skip=()):
    """The body corpus of one route, from a valid `template` and its `fields`."""
    def c(name, body, **kw):
        if name not in skip:
            run.case(route, name, method, url, body, shape=shape, snap=snap, token=token, **kw)
    raw = json.dumps(template).encode()
    c("invalid-json", raw[: max(1, len(raw) // 2)])
    c("empty-body", b"")
    c("top-list", [template])
    c("top-string", "x")
    c("top-number", 1)
    c("top-null", b"null")
    if wrapper:
        c("null-wrapper", set_path(template, wrapper, None))
        c("wrapper-as-list", set_path(template, wrapper, [get_path(template, wrapper)]))
    for f in fields:
        if f.required:
            c(f"missing:{f.label}", del_path(template, f.path))
        c(f"wrong-type:{f.label}", set_path(template, f.path, WRONG[f.kind]))
        if f.kind == "int":
            if not f.neg_ok:
                c(f"neg:{f.label}", set_path(template, f.path, -1))
            c(f"1e30:{f.label}", set_path(template, f.path, HUGE))
        if f.enum:
            c(f"bad-enum:{f.label}", set_path(template, f.path, f.bad_enum))
        if f.name:
            for tag, ch in BIDI.items():
                c(f"ctl-{tag}:{f.label}", set_path(template, f.path, f"a{ch}b"))
    if all_null and fields:
        t = template
        for f in sorted(fields, key=lambda f: len(f.path)):
            try:
                t = set_path(t, f.path, None)
            except (TypeError, KeyError, IndexError):
                pass  # an ancestor is already null
        c("all-null", t)
    deep_field = next((f for f in fields if f.kind in ("str", "list", "obj")), None)
    if deep_field:
        s = json.dumps(set_path(template, deep_field.path, "@@DEEP@@"))
        c(f"nest-10000:{deep_field.label}", s.replace('"@@DEEP@@"', nest(10000)))
    str_field = next((f for f in fields if f.kind == "str"), None)
    if str_field:
        s = json.dumps(set_path(template, str_field.path, "@@BAD@@"))
        c(f"invalid-utf8:{str_field.label}", s.encode().replace(b"@@BAD@@", b"a\xff\xfe\xc3("))
        if big:
            c(f"1mb-string:{str_field.label}", set_path(template, str_field.path, "x" * MB))
    if form:
        c("form-encoded", urllib.parse.urlencode({"name": "x", "body": raw.decode()}),
          ctype="application/x-www-form-urlencoded")
    if big:
        c("5mb-body", set_path(template, (str_field or fields[0]).path, "y" * (5 * MB))
          if (str_field or fields) else {"pad": "y" * (5 * MB)})


def id_cases(run, route, method, url_for, *, shape, snap, token=None, body=None, label=""):
    """Hostile ids in one path position; `url_for(segment)` builds the URL."""
    for tag, raw in HOSTILE_IDS.items():
        seg = raw if tag == "id-dotdot" else urllib.parse.quote(raw, safe="")
        run.case(route, f"{tag}{label}", method, url_for(seg), body, shape=shape, snap=snap,
                 token=token)


# --------------------------------------------------------------------------- setup


def fresh_tenant(prefix):
    return f"{prefix}{uuid.uuid4().int % 10**9:09d}"


def authenticate(identity, tenant, username=None):
    username = username or f"corpus-{tenant}"
    r = jcall("POST", identity + "/v2.0/tokens", {"auth": {
        "passwordCredentials": {"username": username, "password": "secret"},
        "tenantId": tenant}})
    if r.status != 200:
        raise SystemExit(f"FAILED: cannot authenticate {username}/{tenant}: {r.status} {r.snippet()}")
    return r.json["access"]["token"]["id"]


def must(r, *ok, what=""):
    if r.status not in ok:
        raise SystemExit(f"FAILED: setup {what}: {r.status} {r.snippet(300)}")
    return r


# --------------------------------------------------------------------------- identity


def identity_cases(run, I):
    snap = lambda: state_of(I)  # noqa: E731
    tenant = fresh_tenant("ks")
    token = authenticate(I, tenant)
    new_user = f"corpus-never-{uuid.uuid4().hex[:8]}"

    # v2.0 tokens: password credentials.
    tpl = {"auth": {"passwordCredentials": {"username": new_user, "password": "secret"},
                    "tenantId": tenant}}
    body_cases(run, "ks POST /v2.0/tokens (password)", "POST", I + "/v2.0/tokens", tpl, [
        F(("auth", "passwordCredentials", "username"), "str", required=True, name=True),
        F(("auth", "passwordCredentials", "password"), "str", required=True),
        F(("auth", "tenantId"), "str", name=True),
    ], shape="keystone", snap=snap, wrapper=("auth",), big=True)
    body_cases(run, "ks POST /v2.0/tokens (password)", "POST", I + "/v2.0/tokens",
               {"auth": {"passwordCredentials": {"username": new_user, "password": "s"},
                         "tenantName": tenant}},
               [F(("auth", "tenantName"), "str", name=True),
                F(("auth", "passwordCredentials"), "obj", required=True)],
               shape="keystone", snap=snap, form=False, all_null=False)
    # API key credentials.
    tpl = {"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": new_user, "apiKey": "k"},
                    "tenantId": tenant}}
    body_cases(run, "ks POST /v2.0/tokens (apiKey)", "POST", I + "/v2.0/tokens", tpl, [
        F(("auth", "RAX-KSKEY:apiKeyCredentials", "username"), "str", required=True, name=True),
        F(("auth", "RAX-KSKEY:apiKeyCredentials", "apiKey"), "str", required=True),
    ], shape="keystone", snap=snap, wrapper=("auth", "RAX-KSKEY:apiKeyCredentials"), form=False)
    # Token credentials (rescoping).
    tpl = {"auth": {"token": {"id": token}, "tenantId": tenant}}
    body_cases(run, "ks POST /v2.0/tokens (token)", "POST", I + "/v2.0/tokens", tpl, [
        F(("auth", "token", "id"), "str", required=True),
    ], shape="keystone", snap=snap, wrapper=("auth", "token"), form=False)
    # Mimic's URL for the same route.
    run.case("ks POST /identity/v2.0/tokens", "invalid-json", "POST",
             I + "/identity/v2.0/tokens", b'{"auth":', shape="keystone", snap=snap)

    # Impersonation.
    imp_user = f"corpus-imp-{uuid.uuid4().hex[:8]}"
    tpl = {"RAX-AUTH:impersonation": {"user": {"username": imp_user}, "expire-in-seconds": 10800}}
    body_cases(run, "ks POST /v2.0/RAX-AUTH/impersonation-tokens", "POST",
               I + "/v2.0/RAX-AUTH/impersonation-tokens", tpl, [
                   F(("RAX-AUTH:impersonation", "user", "username"), "str", required=True, name=True),
                   F(("RAX-AUTH:impersonation", "user"), "obj", required=True),
                   F(("RAX-AUTH:impersonation", "expire-in-seconds"), "int"),
               ], shape="keystone", snap=snap, token=token, wrapper=("RAX-AUTH:impersonation",))

    # Validation, endpoints, revocation of a token given by id.
    for method, suffix, route in [("GET", "", "ks GET /v2.0/tokens/{id}"),
                                  ("GET", "/endpoints", "ks GET /v2.0/tokens/{id}/endpoints"),
                                  ("DELETE", "", "ks DELETE /v2.0/tokens/{id}")]:
        id_cases(run, route, method, lambda s, sfx=suffix: f"{I}/v2.0/tokens/{s}{sfx}",
                 shape="keystone", snap=snap, token=token)
    # Users and tenants by id.
    id_cases(run, "ks GET /v2.0/users/{id}/OS-KSADM/credentials", "GET",
             lambda s: f"{I}/v2.0/users/{s}/OS-KSADM/credentials", shape="keystone", snap=snap,
             token=token)
    id_cases(run, "ks GET /v2.0/users/{id}/.../RAX-KSKEY:apiKeyCredentials", "GET",
             lambda s: f"{I}/v2.0/users/{s}/OS-KSADM/credentials/RAX-KSKEY:apiKeyCredentials",
             shape="keystone", snap=snap, token=token)
    # External APIs (OS-KSADM services, OS-KSCATALOG templates and a tenant's endpoints):
    # one service and one template exist, so refusals past the body's own checks are met.
    svc_name = f"corpus-ext-{uuid.uuid4().hex[:8]}"
    svc = must(jcall("POST", I + "/v2.0/services", {"name": svc_name, "type": "corpus"},
                     token=token), 201, what="an external service").json["OS-KSADM:service"]
    tmpl_id = f"corpus-tmpl-{uuid.uuid4().hex[:8]}"
    tpl = {"id": tmpl_id, "region": REGION, "type": "corpus", "name": svc_name,
           "publicURL": "https://ext.example/%tenant_id%", "enabled": False}
    must(jcall("POST", I + "/v2.0/OS-KSCATALOG/endpointTemplates", tpl, token=token), 201,
         what="an endpoint template")
    body_cases(run, "ks POST /v2.0/services", "POST", I + "/v2.0/services",
               {"name": f"corpus-other-{uuid.uuid4().hex[:8]}", "type": "corpus",
                "description": "d"}, [
                   F(("name",), "str", required=True, name=True),
                   F(("type",), "str", required=True, name=True),
                   F(("id",), "str", name=True),
                   F(("description",), "str"),
               ], shape="keystone", snap=snap, token=token, big=True)
    run.case("ks POST /v2.0/services", "name-taken", "POST", I + "/v2.0/services",
             {"name": svc_name, "type": "corpus"}, shape="keystone", snap=snap, token=token)
    for bad_id in ("a/b", "50%", "a?b", "a#b", "a b"):
        run.case("ks POST /v2.0/services", f"id-unroutable:{bad_id}", "POST",
                 I + "/v2.0/services", {"name": f"corpus-{uuid.uuid4().hex[:8]}", "type": "corpus",
                                         "id": bad_id}, shape="keystone", snap=snap, token=token)
        run.case("ks POST /v2.0/OS-KSCATALOG/endpointTemplates", f"id-unroutable:{bad_id}",
                 "POST", I + "/v2.0/OS-KSCATALOG/endpointTemplates",
                 {"id": bad_id, "region": REGION, "type": "corpus", "name": svc_name},
                 shape="keystone", snap=snap, token=token)
    new_tpl = set_path(tpl, ("id",), f"corpus-new-{uuid.uuid4().hex[:8]}")
    tpl_fields = [F(("id",), "str", required=True, name=True),
                  F(("region",), "str", required=True, name=True),
                  F(("type",), "str", required=True, name=True),
                  F(("name",), "str", required=True, name=True),
                  F(("publicURL",), "str", name=True),
                  F(("enabled",), "bool")]
    body_cases(run, "ks POST /v2.0/OS-KSCATALOG/endpointTemplates", "POST",
               I + "/v2.0/OS-KSCATALOG/endpointTemplates", new_tpl, tpl_fields,
               shape="keystone", snap=snap, token=token, big=True)
    run.case("ks POST /v2.0/OS-KSCATALOG/endpointTemplates", "type-mismatch", "POST",
             I + "/v2.0/OS-KSCATALOG/endpointTemplates", set_path(new_tpl, ("type",), "other"),
             shape="keystone", snap=snap, token=token)
    body_cases(run, "ks PUT /v2.0/OS-KSCATALOG/endpointTemplates/{id}", "PUT",
               f"{I}/v2.0/OS-KSCATALOG/endpointTemplates/{tmpl_id}",
               set_path(tpl, ("enabled",), True), tpl_fields, shape="keystone", snap=snap,
               token=token)
    body_cases(run, "ks POST /v2.0/tenants/{t}/OS-KSCATALOG/endpoints", "POST",
               f"{I}/v2.0/tenants/{tenant}/OS-KSCATALOG/endpoints",
               {"OS-KSCATALOG:endpointTemplate": {"id": tmpl_id}},
               [F(("OS-KSCATALOG:endpointTemplate", "id"), "str", required=True, name=True)],
               shape="keystone", snap=snap, token=token,
               wrapper=("OS-KSCATALOG:endpointTemplate",))
    run.case("ks DELETE /v2.0/services/{id}", "has-templates", "DELETE",
             f"{I}/v2.0/services/{svc['id']}", shape="keystone", snap=snap, token=token)
    run.case("ks DELETE /v2.0/tenants/{t}/OS-KSCATALOG/endpoints/{id}", "not-enabled",
             "DELETE", f"{I}/v2.0/tenants/{tenant}/OS-KSCATALOG/endpoints/{tmpl_id}",
             shape="keystone", snap=snap, token=token)
    for route, url_for in [
        ("ks DELETE /v2.0/services/{id}", lambda s: f"{I}/v2.0/services/{s}"),
        ("ks GET /v2.0/services/{id}", lambda s: f"{I}/v2.0/services/{s}"),
        ("ks DELETE /v2.0/OS-KSCATALOG/endpointTemplates/{id}",
         lambda s: f"{I}/v2.0/OS-KSCATALOG/endpointTemplates/{s}"),
        ("ks GET /v2.0/OS-KSCATALOG/endpointTemplates/{id}",
         lambda s: f"{I}/v2.0/OS-KSCATALOG/endpointTemplates/{s}"),
        ("ks DELETE /v2.0/tenants/{t}/OS-KSCATALOG/endpoints/{id}",
         lambda s: f"{I}/v2.0/tenants/{tenant}/OS-KSCATALOG/endpoints/{s}"),
    ]:
        method = route.split()[1]
        id_cases(run, route, method, url_for, shape="keystone", snap=snap, token=token)
    # Nothing refused above removed them; the rest of the run sees no external API.
    must(jcall("DELETE", f"{I}/v2.0/OS-KSCATALOG/endpointTemplates/{tmpl_id}", token=token), 204,
         what="remove the template")
    must(jcall("DELETE", f"{I}/v2.0/services/{svc['id']}", token=token), 204,
         what="remove the service")
    # (Rackspace answers 301 for any tenant here; hostile ids are not ours to refuse.)
    # v3 tokens.
    tpl = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": new_user, "password": "secret", "domain": {"id": "default"}}}},
        "scope": {"project": {"id": tenant}}}}
    body_cases(run, "ks POST /v3/auth/tokens", "POST", I + "/v3/auth/tokens", tpl, [
        F(("auth", "identity", "methods"), "list", required=True),
        F(("auth", "identity", "password", "user", "name"), "str", required=True, name=True),
        F(("auth", "identity", "password", "user", "password"), "str", required=True),
        F(("auth", "identity", "password", "user", "domain"), "obj"),
        F(("auth", "scope", "project", "id"), "str", name=True),
        F(("auth", "identity"), "obj", required=True),
    ], shape="v3", snap=snap, wrapper=("auth",), big=True)
    run.case("ks POST /v3/auth/tokens", "bad-enum:auth.identity.methods", "POST",
             I + "/v3/auth/tokens",
             set_path(tpl, ("auth", "identity", "methods"), ["telepathy"]), shape="v3", snap=snap)
    for tag, raw in HOSTILE_IDS.items():
        run.case("ks GET /v3/auth/tokens (X-Subject-Token)", tag, "GET", I + "/v3/auth/tokens",
                 shape="v3", snap=snap, token=token,
                 headers={"X-Subject-Token": urllib.parse.quote(raw, safe="")})

    # Mimic: auth behaviours, tick.
    route = "ks POST /mimic/v1.1/IdentityControlAPI/behaviors/auth"
    url = I + "/mimic/v1.1/IdentityControlAPI/behaviors/auth"
    tpl = {"criteria": [{"username": "corpus-nobody.*"}], "name": "fail",
           "parameters": {"code": 500, "message": "boom", "type": "identityFault"}}
    body_cases(run, route, "POST", url, tpl, [
        F(("criteria",), "list", required=True),
        F(("name",), "str", required=True, enum=True),
        F(("parameters",), "obj", required=True),
        F(("parameters", "code"), "int"),
        F(("parameters", "message"), "str"),
        F(("parameters", "type"), "str"),
    ], shape="keystone", snap=snap)
    run.case(route, "bad-criterion", "POST", url,
             set_path(tpl, ("criteria",), [{"colour": "x"}]), shape="keystone", snap=snap)
    run.case(route, "bad-regex", "POST", url,
             set_path(tpl, ("criteria",), [{"username": "(unclosed"}]), shape="keystone", snap=snap)
    run.case(route, "code-199-as-string", "POST", url,
             set_path(tpl, ("parameters", "code"), "500"), shape="keystone", snap=snap)
    id_cases(run, "ks DELETE /mimic/.../behaviors/auth/{id}", "DELETE",
             lambda s: f"{url}/{s}", shape="keystone", snap=snap)

    def snap_clock():
        return (state_of(I), clock_of(I))
    body_cases(run, "ks POST /mimic/v1.1/tick", "POST", I + "/mimic/v1.1/tick",
               {"amount": 1}, [F(("amount",), "int", required=True, neg_ok=True)],
               shape="keystone", snap=snap_clock)


# --------------------------------------------------------------------------- compute


def compute_cases(run, I, C):
    snap = lambda: state_of(C)  # noqa: E731
    tenant = fresh_tenant("nv")
    token = authenticate(I, tenant)
    api = f"{C}/{REGION}/v2/{tenant}"
    mimic = f"{C}/mimic/{REGION}/v2/{tenant}"
    images = must(jcall("GET", api + "/images", token=token), 200, what="images").json["images"]
    image = images[0]["id"]
    flavors = must(jcall("GET", api + "/flavors", token=token), 200, what="flavors").json["flavors"]
    flavor, flavor2 = flavors[0]["id"], flavors[1]["id"]

    def make_server(name):
        r = must(jcall("POST", api + "/servers", {"server": {
            "name": name, "imageRef": image, "flavorRef": flavor,
            "metadata": {"k": "v"}}}, token=token), 202, what="create server")
        sid = r.json["server"]["id"]
        must(jcall("POST", mimic + "/attributes", {"status": {sid: "ACTIVE"}}), 201, 200, 204,
             what="force ACTIVE")
        return sid

    sid = make_server("corpus-1")

    # Create.
    tpl = {"server": {"name": "corpus-new", "imageRef": image, "flavorRef": flavor,
                      "metadata": {"a": "b"}, "min_count": 1, "max_count": 1,
                      "OS-DCF:diskConfig": "AUTO", "key_name": None,
                      "networks": [{"uuid": "00000000-0000-0000-0000-000000000000"}],
                      "personality": []}}
    tpl["server"].pop("key_name")
    body_cases(run, "nova POST /servers", "POST", api + "/servers", tpl, [
        F(("server", "name"), "str", required=True, name=True),
        F(("server", "imageRef"), "str", required=True),
        F(("server", "flavorRef"), "str", required=True),
        F(("server", "metadata"), "obj"),
        F(("server", "min_count"), "int"),
        F(("server", "max_count"), "int"),
        F(("server", "OS-DCF:diskConfig"), "str", enum=True),
        F(("server", "networks"), "list"),
        F(("server", "personality"), "list"),
    ], shape="nova", snap=snap, token=token, wrapper=("server",), big=True)
    for tag, ch in [("newline", "\n"), ("bel", "\u0007"), ("lead-space", " ")]:
        run.case("nova POST /servers", f"name-{tag}", "POST", api + "/servers",
                 set_path(tpl, ("server", "name"), f"{ch}abc" if tag == "lead-space" else f"a{ch}b"),
                 shape="nova", snap=snap, token=token)
    run.case("nova POST /servers", "unknown-image", "POST", api + "/servers",
             set_path(tpl, ("server", "imageRef"), str(uuid.uuid4())), shape="nova", snap=snap,
             token=token)
    run.case("nova POST /servers", "unknown-flavor", "POST", api + "/servers",
             set_path(tpl, ("server", "flavorRef"), "no-such-flavor"), shape="nova", snap=snap,
             token=token)
    run.case("nova POST /servers", "metadata-key-slash", "POST", api + "/servers",
             set_path(tpl, ("server", "metadata"), {"a/b": "v"}), shape="nova", snap=snap,
             token=token)

    # Update.
    tpl = {"server": {"name": "corpus-renamed", "accessIPv4": "10.0.0.9",
                      "accessIPv6": "fe80::9", "OS-DCF:diskConfig": "MANUAL"}}
    body_cases(run, "nova PUT /servers/{id}", "PUT", f"{api}/servers/{sid}", tpl, [
        F(("server", "name"), "str", name=True),
        F(("server", "accessIPv4"), "str"),
        F(("server", "accessIPv6"), "str"),
        F(("server", "OS-DCF:diskConfig"), "str", enum=True),
    ], shape="nova", snap=snap, token=token, wrapper=("server",), all_null=False)
    run.case("nova PUT /servers/{id}", "bad-ipv4", "PUT", f"{api}/servers/{sid}",
             {"server": {"accessIPv4": "999.1.1.1"}}, shape="nova", snap=snap, token=token)
    for m in ("GET", "PUT", "DELETE"):
        id_cases(run, f"nova {m} /servers/{{id}}", m, lambda s: f"{api}/servers/{s}",
                 shape="nova", snap=snap, token=token,
                 body={"server": {"name": "x"}} if m == "PUT" else None)

    # Actions.
    act = f"{api}/servers/{sid}/action"
    r_act = "nova POST /servers/{id}/action"
    for name, body in [("invalid-json", b'{"reboot":'), ("empty-body", b""),
                       ("top-list", [{"reboot": {"type": "SOFT"}}]), ("top-string", "reboot"),
                       ("top-number", 3), ("top-null", b"null"), ("empty-object", {}),
                       ("unknown-action", {"selfDestruct": {}}),
                       ("two-actions", {"reboot": {"type": "SOFT"}, "resize": {"flavorRef": flavor2}}),
                       ("form-encoded", "reboot=SOFT")]:
        run.case(r_act, name, "POST", act, body, shape="nova", snap=snap, token=token,
                 ctype="application/x-www-form-urlencoded" if name == "form-encoded" else "application/json")
    actions = [
        ("reboot", {"reboot": {"type": "SOFT"}},
         [F(("reboot", "type"), "str", required=True, enum=True)]),
        ("rebuild", {"rebuild": {"imageRef": image, "name": "corpus-rb", "adminPass": "pw",
                                 "metadata": {"a": "b"}, "OS-DCF:diskConfig": "AUTO"}},
         [F(("rebuild", "imageRef"), "str", required=True),
          F(("rebuild", "name"), "str", name=True),
          F(("rebuild", "adminPass"), "str"),
          F(("rebuild", "metadata"), "obj"),
          F(("rebuild", "OS-DCF:diskConfig"), "str", enum=True)]),
        ("resize", {"resize": {"flavorRef": flavor2, "OS-DCF:diskConfig": "AUTO"}},
         [F(("resize", "flavorRef"), "str", required=True),
          F(("resize", "OS-DCF:diskConfig"), "str", enum=True)]),
        ("changePassword", {"changePassword": {"adminPass": "newpw"}},
         [F(("changePassword", "adminPass"), "str", required=True)]),
        ("rescue", {"rescue": {"adminPass": "pw"}}, [F(("rescue", "adminPass"), "str")]),
        ("createImage", {"createImage": {"name": "corpus-img", "metadata": {"a": "b"}}},
         [F(("createImage", "name"), "str", required=True, name=True),
          F(("createImage", "metadata"), "obj")]),
    ]
    for aname, tpl, fields in actions:
        # Nova's rescue takes `{"rescue": null}` (its schema allows null): not bad input.
        skip = {"null-wrapper"} if aname == "rescue" else ()
        body_cases(run, f"{r_act} {aname}", "POST", act, tpl, fields, shape="nova", snap=snap,
                   token=token, wrapper=(aname,), form=False,
                   big=(aname == "createImage"), skip=skip)
    run.case(f"{r_act} createImage", "metadata-key-slash", "POST", act,
             {"createImage": {"name": "x", "metadata": {"a/b": "v"}}}, shape="nova", snap=snap,
             token=token)
    # Actions the server's state refuses (ACTIVE server: nothing to confirm, revert, unrescue).
    for aname in ("confirmResize", "revertResize", "unrescue"):
        run.case(f"{r_act} {aname}", "wrong-state", "POST", act, {aname: None}, shape="nova",
                 snap=snap, token=token)
    id_cases(run, r_act, "POST", lambda s: f"{api}/servers/{s}/action", shape="nova",
             snap=snap, token=token, body={"reboot": {"type": "SOFT"}})

    # Metadata, every form.
    md = f"{api}/servers/{sid}/metadata"
    for m in ("PUT", "POST"):
        route = f"nova {m} /servers/{{id}}/metadata"
        body_cases(run, route, m, md, {"metadata": {"a": "b", "c": "d"}},
                   [F(("metadata",), "obj", required=True), F(("metadata", "a"), "str")],
                   shape="nova", snap=snap, token=token, wrapper=("metadata",), big=(m == "PUT"))
        for name, meta in [("key-empty", {"": "v"}), ("key-256", {"k" * 256: "v"}),
                           ("value-256", {"k": "v" * 256}), ("key-slash", {"a/b": "v"}),
                           ("key-rlo", {"a\u202eb": "v"}), ("key-nul", {"a\u0000b": "v"}),
                           ("value-nested", {"k": {"x": 1}}), ("too-many", {f"k{i}": "v" for i in range(200)})]:
            run.case(route, name, m, md, {"metadata": meta}, shape="nova", snap=snap, token=token)
        id_cases(run, route, m, lambda s: f"{api}/servers/{s}/metadata", shape="nova",
                 snap=snap, token=token, body={"metadata": {"a": "b"}})
    route = "nova PUT /servers/{id}/metadata/{key}"
    body_cases(run, route, "PUT", md + "/k", {"meta": {"k": "v"}},
               [F(("meta",), "obj", required=True), F(("meta", "k"), "str", required=True)],
               shape="nova", snap=snap, token=token, wrapper=("meta",))
    for name, body in [("key-mismatch", {"meta": {"other": "v"}}),
                       ("two-keys", {"meta": {"k": "v", "j": "w"}}),
                       ("value-256", {"meta": {"k": "v" * 256}})]:
        run.case(route, name, "PUT", md + "/k", body, shape="nova", snap=snap, token=token)
    for tag, raw in HOSTILE_IDS.items():
        if tag in ("id-neg", "id-2^64"):
            # "-1" and "18446744073709551616" are valid metadata keys (Nova's key rule
            # allows digits and '-'): not bad input.
            continue
        seg = raw if tag == "id-dotdot" else urllib.parse.quote(raw, safe="")
        run.case(route, f"key-{tag}", "PUT", f"{md}/{seg}", {"meta": {raw: "v"}}, shape="nova",
                 snap=snap, token=token)
        run.case("nova DELETE /servers/{id}/metadata/{key}", f"key-{tag}", "DELETE",
                 f"{md}/{seg}", shape="nova", snap=snap, token=token)
        run.case("nova GET /servers/{id}/metadata/{key}", f"key-{tag}", "GET",
                 f"{md}/{seg}", shape="nova", snap=snap, token=token)
    id_cases(run, route, "PUT", lambda s: f"{api}/servers/{s}/metadata/k", shape="nova",
             snap=snap, token=token, body={"meta": {"k": "v"}}, label=" (server)")

    # Keypairs.
    route = "nova POST /os-keypairs"
    body_cases(run, route, "POST", api + "/os-keypairs",
               {"keypair": {"name": "corpus-kp", "type": "ssh"}},
               [F(("keypair", "name"), "str", required=True, name=True),
                F(("keypair", "type"), "str", enum=True)],
               shape="nova", snap=snap, token=token, wrapper=("keypair",))
    body_cases(run, route, "POST", api + "/os-keypairs",
               {"keypair": {"name": "corpus-kp2", "public_key": "ssh-rsa AAAAB3NzaC1yc2E= x"}},
               [F(("keypair", "public_key"), "str")], shape="nova", snap=snap, token=token,
               form=False, all_null=False)
    for name, kp in [("name-empty", {"name": ""}), ("name-256", {"name": "k" * 256}),
                     ("name-slash", {"name": "a/b"}),
                     ("public-key-garbage", {"name": "kpg", "public_key": "not a key"})]:
        run.case(route, name, "POST", api + "/os-keypairs", {"keypair": kp}, shape="nova",
                 snap=snap, token=token)
    for m in ("GET", "DELETE"):
        id_cases(run, f"nova {m} /os-keypairs/{{name}}", m, lambda s: f"{api}/os-keypairs/{s}",
                 shape="nova", snap=snap, token=token)
    # Images, flavors, Glance.
    for m in ("GET", "DELETE"):
        id_cases(run, f"nova {m} /images/{{id}}", m, lambda s: f"{api}/images/{s}",
                 shape="nova", snap=snap, token=token)
    id_cases(run, "nova GET /flavors/{id}", "GET", lambda s: f"{api}/flavors/{s}",
             shape="nova", snap=snap, token=token)
    id_cases(run, "nova GET /os-quota-sets/{tenant}", "GET", lambda s: f"{api}/os-quota-sets/{s}",
             shape="nova", snap=snap, token=token)
    id_cases(run, "nova GET /servers/{id}/ips", "GET", lambda s: f"{api}/servers/{s}/ips",
             shape="nova", snap=snap, token=token)
    id_cases(run, "glance GET /ORD/images/v2/images/{id}", "GET",
             lambda s: f"{C}/{REGION}/images/v2/images/{s}", shape="glance", snap=snap,
             token=token)

    # Mimic's compute control routes.
    route = "nova-mimic POST /behaviors/creation"
    url = mimic + "/behaviors/creation"
    tpl = {"criteria": [{"server_name": "corpus-never.*"}], "name": "fail",
           "parameters": {"code": 500, "message": "boom"}}
    body_cases(run, route, "POST", url, tpl, [
        F(("criteria",), "list", required=True),
        F(("name",), "str", required=True, enum=True),
        F(("parameters",), "obj", required=True),
        F(("parameters", "code"), "int"),
        F(("parameters", "message"), "str"),
    ], shape="nova", snap=snap)
    run.case(route, "bad-criterion", "POST", url, set_path(tpl, ("criteria",), [{"colour": "x"}]),
             shape="nova", snap=snap)
    run.case(route, "bad-regex", "POST", url,
             set_path(tpl, ("criteria",), [{"server_name": "(unclosed"}]), shape="nova", snap=snap)
    run.case(route, "duration-neg", "POST", url,
             {"criteria": [], "name": "build", "parameters": {"duration": -1}},
             shape="nova", snap=snap)
    id_cases(run, "nova-mimic DELETE /behaviors/creation/{id}", "DELETE",
             lambda s: f"{url}/{s}", shape="nova", snap=snap)
    route = "nova-mimic POST /attributes"
    body_cases(run, route, "POST", mimic + "/attributes", {"status": {sid: "ERROR"}},
               [F(("status",), "obj", required=True), F(("status", sid), "str")],
               shape="nova", snap=snap, wrapper=("status",))
    for tag, raw in HOSTILE_IDS.items():
        run.case(route, f"server-{tag}", "POST", mimic + "/attributes", {"status": {raw: "ERROR"}},
                 shape="nova", snap=snap)


# --------------------------------------------------------------------------- load balancers


def lb_cases(run, I, L):
    snap = lambda: state_of(L)  # noqa: E731
    tenant = fresh_tenant("lb")
    token = authenticate(I, tenant)
    api = f"{L}/{REGION}/v1.0/{tenant}"
    mimic = f"{L}/mimic/{REGION}/v1.0/{tenant}"
    create = {"loadBalancer": {
        "name": "corpus-lb", "protocol": "HTTP", "port": 80, "algorithm": "ROUND_ROBIN",
        "timeout": 30, "halfClosed": False,
        "virtualIps": [{"type": "PUBLIC"}],
        "nodes": [{"address": "10.0.0.1", "port": 80, "condition": "ENABLED",
                   "type": "PRIMARY", "weight": 1}],
        "accessList": [{"address": "10.1.1.1", "type": "DENY"}],
        "metadata": [{"key": "k", "value": "v"}],
        "connectionLogging": {"enabled": False},
        "contentCaching": {"enabled": False},
    }}
    r = must(jcall("POST", api + "/loadbalancers", create, token=token), 202, what="create lb")
    lb = r.json["loadBalancer"]
    lid, nid = lb["id"], lb["nodes"][0]["id"]
    must(request("PATCH", f"{mimic}/loadbalancer/{lid}/attributes",
                 json.dumps({"status": "ACTIVE"})), 204, 200, what="force ACTIVE")
    det = must(jcall("GET", f"{api}/loadbalancers/{lid}", token=token), 200, what="lb").json
    det = det["loadBalancer"]
    vid = det["virtualIps"][0]["id"]
    mid = must(jcall("GET", f"{api}/loadbalancers/{lid}/metadata", token=token), 200,
               what="metadata").json["metadata"][0]["id"]
    aid = must(jcall("GET", f"{api}/loadbalancers/{lid}/accesslist", token=token), 200,
               what="accesslist").json["accessList"][0]["id"]
    base = f"{api}/loadbalancers/{lid}"
    kw = dict(shape="clb", snap=snap, token=token)

    lbf = lambda *p: ("loadBalancer",) + p  # noqa: E731
    body_cases(run, "clb POST /loadbalancers", "POST", api + "/loadbalancers", create, [
        F(lbf("name"), "str", required=True, name=True),
        F(lbf("protocol"), "str", required=True, enum=True),
        F(lbf("port"), "int"),
        F(lbf("algorithm"), "str", enum=True),
        F(lbf("timeout"), "int"),
        F(lbf("halfClosed"), "bool"),
        F(lbf("virtualIps"), "list", required=True),
        F(lbf("virtualIps", 0, "type"), "str", enum=True),
        F(lbf("nodes"), "list"),
        F(lbf("nodes", 0, "address"), "str", required=True),
        F(lbf("nodes", 0, "port"), "int", required=True),
        F(lbf("nodes", 0, "condition"), "str", enum=True),
        F(lbf("nodes", 0, "type"), "str", enum=True),
        F(lbf("nodes", 0, "weight"), "int"),
        F(lbf("accessList"), "list"),
        F(lbf("accessList", 0, "type"), "str", enum=True),
        F(lbf("metadata"), "list"),
        F(lbf("metadata", 0, "key"), "str", required=True),
        F(lbf("connectionLogging"), "obj"),
        F(lbf("contentCaching"), "obj"),
    ], wrapper=("loadBalancer",), big=True, **kw)
    for name, path, val in [("node-weight-101", lbf("nodes", 0, "weight"), 101),
                            ("node-weight-0", lbf("nodes", 0, "weight"), 0),
                            ("node-port-65536", lbf("nodes", 0, "port"), 65536),
                            ("node-address-garbage", lbf("nodes", 0, "address"), "not an ip!"),
                            ("vip-ipVersion-IPV5", lbf("virtualIps", 0, "ipVersion"), "IPV5"),
                            ("name-129", lbf("name"), "n" * 129),
                            ("timeout-121", lbf("timeout"), 121),
                            ("port-0", lbf("port"), 0),
                            ("healthMonitor-type", lbf("healthMonitor"), {"type": "PING"}),
                            ("sessionPersistence-type", lbf("sessionPersistence"),
                             {"persistenceType": "TELEPATHY"}),
                            ("connectionThrottle-neg", lbf("connectionThrottle"),
                             {"maxConnections": -1}),
                            ("nodes-26", lbf("nodes"),
                             [{"address": f"10.0.1.{i}", "port": 80, "condition": "ENABLED"}
                              for i in range(26)])]:
        run.case("clb POST /loadbalancers", name, "POST", api + "/loadbalancers",
                 set_path(create, path, val), **kw)

    upd = {"loadBalancer": {"name": "corpus-renamed", "protocol": "HTTP", "port": 8080,
                            "algorithm": "RANDOM", "timeout": 60, "halfClosed": True}}
    body_cases(run, "clb PUT /loadbalancers/{id}", "PUT", base, upd, [
        F(lbf("name"), "str", name=True),
        F(lbf("protocol"), "str", enum=True),
        F(lbf("port"), "int"),
        F(lbf("algorithm"), "str", enum=True),
        F(lbf("timeout"), "int"),
        F(lbf("halfClosed"), "bool"),
    ], wrapper=("loadBalancer",), **kw)
    run.case("clb PUT /loadbalancers/{id}", "nodes-in-update", "PUT", base,
             {"loadBalancer": {"nodes": []}}, **kw)
    for m in ("GET", "PUT", "DELETE"):
        id_cases(run, f"clb {m} /loadbalancers/{{id}}", m, lambda s: f"{api}/loadbalancers/{s}",
                 body={"loadBalancer": {"name": "x"}} if m == "PUT" else None, **kw)

    # Nodes.
    nf = lambda *p: ("nodes", 0) + p  # noqa: E731
    body_cases(run, "clb POST /loadbalancers/{id}/nodes", "POST", base + "/nodes",
               {"nodes": [{"address": "10.0.0.2", "port": 80, "condition": "ENABLED",
                           "type": "PRIMARY", "weight": 5}]}, [
        F(("nodes",), "list", required=True),
        F(nf("address"), "str", required=True),
        F(nf("port"), "int", required=True),
        F(nf("condition"), "str", enum=True),
        F(nf("type"), "str", enum=True),
        F(nf("weight"), "int"),
    ], wrapper=("nodes",), **kw)
    for name, val in [("weight-101", {"weight": 101}), ("weight-0", {"weight": 0}),
                      ("port-65536", {"port": 65536}), ("address-ctl", {"address": "10.0.0.\u202e3"}),
                      ("address-garbage", {"address": "x y z"}), ("status-given", {"status": "ONLINE"})]:
        n = {"address": "10.0.0.2", "port": 80, "condition": "ENABLED"}
        n.update(val)
        run.case("clb POST /loadbalancers/{id}/nodes", name, "POST", base + "/nodes",
                 {"nodes": [n]}, **kw)
    run.case("clb POST /loadbalancers/{id}/nodes", "too-many", "POST", base + "/nodes",
             {"nodes": [{"address": f"10.0.2.{i}", "port": 80, "condition": "ENABLED"}
                        for i in range(30)]}, **kw)

    route = "clb PUT /loadbalancers/{id}/nodes/{nid}"
    body_cases(run, route, "PUT", f"{base}/nodes/{nid}",
               {"node": {"condition": "DRAINING", "type": "PRIMARY", "weight": 7}}, [
        F(("node", "condition"), "str", enum=True),
        F(("node", "type"), "str", enum=True),
        F(("node", "weight"), "int"),
    ], wrapper=("node",), **kw)
    for name, body in [("address-given", {"node": {"address": "10.9.9.9"}}),
                       ("port-given", {"node": {"port": 81}}),
                       ("weight-101", {"node": {"weight": 101}}), ("empty-node", {"node": {}})]:
        run.case(route, name, "PUT", f"{base}/nodes/{nid}", body, **kw)
    for m in ("GET", "PUT", "DELETE"):
        id_cases(run, f"clb {m} /loadbalancers/{{id}}/nodes/{{nid}}", m,
                 lambda s: f"{base}/nodes/{s}",
                 body={"node": {"condition": "ENABLED"}} if m == "PUT" else None, **kw)
    route = "clb PUT /loadbalancers/{id}/nodes (bulk)"
    body_cases(run, route, "PUT", base + "/nodes",
               {"nodes": [{"id": nid, "condition": "DRAINING", "weight": 9}]}, [
        F(("nodes",), "list", required=True),
        F(nf("id"), "int", required=True),
        F(nf("condition"), "str", enum=True),
        F(nf("weight"), "int"),
    ], wrapper=("nodes",), form=False, **kw)
    route = "clb DELETE /loadbalancers/{id}/nodes?id= (bulk)"
    for tag, raw in list(HOSTILE_IDS.items()) + [("no-ids", None), ("unknown-id", "999999"),
                                                 ("id-abc", "abc")]:
        q = "" if raw is None else "?id=" + urllib.parse.quote(raw, safe="%")
        if raw is not None:
            q += f"&id={nid}"  # a good id next to the bad one: nothing may be deleted
        run.case(route, tag, "DELETE", base + "/nodes" + q, **kw)
    run.case(route, "11-ids", "DELETE",
             base + "/nodes?" + "&".join(f"id={nid + i}" for i in range(11)), **kw)

    # Health monitor.
    hm = ("healthMonitor",)
    body_cases(run, "clb PUT /loadbalancers/{id}/healthmonitor", "PUT", base + "/healthmonitor",
               {"healthMonitor": {"type": "HTTP", "delay": 10, "timeout": 5,
                                  "attemptsBeforeDeactivation": 3, "path": "/",
                                  "statusRegex": "^2", "bodyRegex": ".*", "hostHeader": "x"}}, [
        F(hm + ("type",), "str", required=True, enum=True),
        F(hm + ("delay",), "int", required=True),
        F(hm + ("timeout",), "int", required=True),
        F(hm + ("attemptsBeforeDeactivation",), "int", required=True),
        F(hm + ("path",), "str", required=True),
        F(hm + ("statusRegex",), "str"),
        F(hm + ("bodyRegex",), "str"),
        F(hm + ("hostHeader",), "str", name=True),
    ], wrapper=hm, **kw)
    for name, patch in [("delay-3601", {"delay": 3601}), ("timeout-301", {"timeout": 301}),
                        ("attempts-11", {"attemptsBeforeDeactivation": 11}),
                        ("bad-regex", {"statusRegex": "(unclosed"}),
                        ("HTTPS-on-HTTP", {"type": "HTTPS"})]:
        b = {"type": "HTTP", "delay": 10, "timeout": 5, "attemptsBeforeDeactivation": 3, "path": "/"}
        b.update(patch)
        run.case("clb PUT /loadbalancers/{id}/healthmonitor", name, "PUT", base + "/healthmonitor",
                 {"healthMonitor": b}, **kw)

    body_cases(run, "clb PUT /loadbalancers/{id}/sessionpersistence", "PUT",
               base + "/sessionpersistence", {"sessionPersistence": {"persistenceType": "HTTP_COOKIE"}},
               [F(("sessionPersistence", "persistenceType"), "str", required=True, enum=True)],
               wrapper=("sessionPersistence",), **kw)
    run.case("clb PUT /loadbalancers/{id}/sessionpersistence", "SSL_ID-on-HTTP", "PUT",
             base + "/sessionpersistence", {"sessionPersistence": {"persistenceType": "SSL_ID"}}, **kw)

    ct = ("connectionThrottle",)
    body_cases(run, "clb PUT /loadbalancers/{id}/connectionthrottle", "PUT",
               base + "/connectionthrottle",
               {"connectionThrottle": {"minConnections": 10, "maxConnections": 100,
                                       "maxConnectionRate": 50, "rateInterval": 60}}, [
        F(ct + ("minConnections",), "int"), F(ct + ("maxConnections",), "int"),
        F(ct + ("maxConnectionRate",), "int"), F(ct + ("rateInterval",), "int"),
    ], wrapper=ct, **kw)

    route = "clb POST /loadbalancers/{id}/accesslist"
    body_cases(run, route, "POST", base + "/accesslist",
               {"accessList": [{"address": "10.2.2.0/24", "type": "ALLOW"}]}, [
        F(("accessList",), "list", required=True),
        F(("accessList", 0, "address"), "str", required=True),
        F(("accessList", 0, "type"), "str", required=True, enum=True),
    ], wrapper=("accessList",), **kw)
    for name, item in [("address-garbage", {"address": "10.2.2.0/99", "type": "ALLOW"}),
                       ("id-given", {"address": "10.3.3.3", "type": "ALLOW", "id": 5}),
                       ("address-ctl", {"address": "10.3.3.\u00003", "type": "ALLOW"})]:
        run.case(route, name, "POST", base + "/accesslist", {"accessList": [item]}, **kw)
    run.case(route, "empty-list", "POST", base + "/accesslist", {"accessList": []}, **kw)
    id_cases(run, "clb DELETE /loadbalancers/{id}/accesslist/{item}", "DELETE",
             lambda s: f"{base}/accesslist/{s}", **kw)
    for tag, raw in list(HOSTILE_IDS.items())[3:] + [("unknown-id", "999999")]:
        run.case("clb DELETE /loadbalancers/{id}/accesslist?id= (bulk)", tag, "DELETE",
                 f"{base}/accesslist?id={urllib.parse.quote(raw, safe='')}&id={aid}", **kw)

    # Metadata: balancer and node.
    for target, mbase in [("lb", base), ("node", f"{base}/nodes/{nid}")]:
        route = f"clb POST {target} metadata"
        body_cases(run, route, "POST", mbase + "/metadata",
                   {"metadata": [{"key": "k2", "value": "v2"}]}, [
            F(("metadata",), "list", required=True),
            F(("metadata", 0, "key"), "str", required=True, name=True),
            F(("metadata", 0, "value"), "str", required=True),
        ], wrapper=("metadata",), **kw)
        for name, items in [("key-256", [{"key": "k" * 257, "value": "v"}]),
                            ("value-257", [{"key": "kk", "value": "v" * 257}]),
                            ("duplicate-key", [{"key": "k", "value": "v"}] if target == "lb"
                             else [{"key": "d", "value": "v"}, {"key": "d", "value": "w"}]),
                            ("id-given", [{"key": "k3", "value": "v", "id": 1}]),
                            ("empty-list", []),
                            ("26-items", [{"key": f"m{i}", "value": "v"} for i in range(26)])]:
            run.case(route, name, "POST", mbase + "/metadata", {"metadata": items}, **kw)
        route = f"clb PUT {target} metadata/{{mid}}"
        target_mid = mid if target == "lb" else None
        if target_mid is None:
            nm = jcall("GET", mbase + "/metadata", token=token).json or {}
            target_mid = (nm.get("metadata") or [{"id": 1}])[0]["id"]
        body_cases(run, route, "PUT", f"{mbase}/metadata/{target_mid}",
                   {"meta": {"value": "v9"}},
                   [F(("meta", "value"), "str", required=True, name=True)],
                   wrapper=("meta",), **kw)
        for m in ("GET", "PUT", "DELETE"):
            id_cases(run, f"clb {m} {target} metadata/{{mid}}", m,
                     lambda s, b=mbase: f"{b}/metadata/{s}",
                     body={"meta": {"value": "x"}} if m == "PUT" else None, **kw)

    route = "clb POST /loadbalancers/{id}/virtualips"
    body_cases(run, route, "POST", base + "/virtualips", {"type": "PUBLIC", "ipVersion": "IPV6"}, [
        F(("type",), "str", required=True, enum=True),
        F(("ipVersion",), "str", required=True, enum=True),
    ], **kw)
    run.case(route, "shared-id", "POST", base + "/virtualips", {"id": vid}, **kw)
    run.case(route, "ipv4", "POST", base + "/virtualips", {"type": "PUBLIC", "ipVersion": "IPV4"}, **kw)
    id_cases(run, "clb DELETE /loadbalancers/{id}/virtualips/{vid}", "DELETE",
             lambda s: f"{base}/virtualips/{s}", **kw)

    route = "clb PUT /loadbalancers/{id}/errorpage"
    body_cases(run, route, "PUT", base + "/errorpage",
               {"errorpage": {"content": "<html>sorry</html>"}},
               [F(("errorpage", "content"), "str", required=True)],
               wrapper=("errorpage",), big=True, **kw)
    run.case(route, "content-65537", "PUT", base + "/errorpage",
             {"errorpage": {"content": "x" * 65537}}, **kw)
    for part in ("contentcaching", "connectionlogging"):
        key = "contentCaching" if part == "contentcaching" else "connectionLogging"
        body_cases(run, f"clb PUT /loadbalancers/{{id}}/{part}", "PUT", f"{base}/{part}",
                   {key: {"enabled": True}}, [F((key, "enabled"), "bool", required=True)],
                   wrapper=(key,), **kw)

    # Mimic's lb control routes.
    route = "clb-mimic PATCH /loadbalancer/{id}/attributes"
    url = f"{mimic}/loadbalancer/{lid}/attributes"
    body_cases(run, route, "PATCH", url, {"status": "ERROR"},
               [F(("status",), "str", required=True, enum=True)], shape="clb", snap=snap)
    run.case(route, "extra-key", "PATCH", url, {"status": "ERROR", "colour": "red"},
             shape="clb", snap=snap)
    id_cases(run, route, "PATCH", lambda s: f"{mimic}/loadbalancer/{s}/attributes",
             shape="clb", snap=snap, body={"status": "ERROR"})
    route = "clb-mimic PUT /loadbalancers/{id}/nodes/{nid}/status"
    url = f"{mimic}/loadbalancers/{lid}/nodes/{nid}/status"
    body_cases(run, route, "PUT", url, {"status": "OFFLINE"},
               [F(("status",), "str", required=True, enum=True)], shape="clb", snap=snap)
    id_cases(run, route, "PUT", lambda s: f"{mimic}/loadbalancers/{lid}/nodes/{s}/status",
             shape="clb", snap=snap, body={"status": "OFFLINE"}, label=" (node)")
    id_cases(run, route, "PUT", lambda s: f"{mimic}/loadbalancers/{s}/nodes/{nid}/status",
             shape="clb", snap=snap, body={"status": "OFFLINE"}, label=" (lb)")


# --------------------------------------------------------------------------- control API


def control_cases(run, svc, base):
    ctl = base + CONTROL
    snap = lambda: state_of(base)  # noqa: E731
    snap_clock = lambda: (state_of(base), clock_of(base))  # noqa: E731
    kw = dict(shape="control")
    p = f"ctl[{svc}]"
    body_cases(run, f"{p} POST /faults", "POST", ctl + "/faults", {
        "priority": 1, "match": {"method": "POST", "path": "/corpus/never/**", "tenant": "corpus"},
        "action": {"type": "error", "status": 500, "message": "boom"},
        "budget": {"times": 2, "skip": 0, "probability": 0.5, "seed": 1}}, [
        F(("priority",), "int", neg_ok=True),
        F(("match",), "obj"),
        F(("match", "method"), "str"),
        F(("match", "path"), "str"),
        F(("action",), "obj", required=True),
        F(("action", "type"), "str", required=True, enum=True),
        F(("action", "status"), "int"),
        F(("action", "message"), "str"),
        F(("budget", "times"), "int"),
        F(("budget", "skip"), "int"),
        F(("budget", "seed"), "int"),
    ], snap=snap, big=True, **kw)
    for name, body in [
        ("service-unknown", {"match": {"service": "dns"}, "action": {"type": "drop"}}),
        ("status-200", {"action": {"type": "error", "status": 200}}),
        ("status-999", {"action": {"type": "error", "status": 999}}),
        ("probability-2", {"action": {"type": "drop"}, "budget": {"probability": 2}}),
        ("path-regex-bad", {"match": {"path_regex": "(unclosed"}, "action": {"type": "drop"}}),
        ("delay-distribution-bad", {"action": {"type": "delay", "distribution": "zipf", "ms": 1}}),
        ("rate-limit-status-500", {"action": {"type": "rate_limit", "status": 500}}),
        ("unknown-field", {"action": {"type": "drop"}, "colour": "red"}),
        ("budget-until-not-date", {"action": {"type": "drop"}, "budget": {"until": "tomorrow"}}),
        ("hang-ms-neg", {"action": {"type": "hang", "ms": -1}}),
    ]:
        run.case(f"{p} POST /faults", name, "POST", ctl + "/faults", body, snap=snap, **kw)
    for m in ("GET", "DELETE"):
        id_cases(run, f"{p} {m} /faults/{{id}}", m, lambda s: f"{ctl}/faults/{s}", snap=snap, **kw)

    for route in ("advance", "tick"):
        body_cases(run, f"{p} POST /clock/{route}", "POST", f"{ctl}/clock/{route}",
                   {"seconds": 60}, [F(("seconds",), "int", required=True)], snap=snap_clock,
                   **kw)
    body_cases(run, f"{p} POST /clock/set", "POST", ctl + "/clock/set",
               {"now": "2031-01-01T00:00:00Z"}, [F(("now",), "str", required=True)],
               snap=snap_clock, **kw)
    for name, val in [("not-a-date", "yesterday"), ("year-10000", "10000-01-01T00:00:00Z"),
                      ("year-1969", "1969-12-31T23:59:59Z")]:
        run.case(f"{p} POST /clock/set", name, "POST", ctl + "/clock/set", {"now": val},
                 snap=snap_clock, **kw)
    body_cases(run, f"{p} POST /clock/freeze", "POST", ctl + "/clock/freeze",
               {"at": "2031-01-01T00:00:00Z"}, [F(("at",), "str")], snap=snap_clock,
               all_null=False, skip=("empty-body",), **kw)  # no body: freeze now
    body_cases(run, f"{p} PUT /clock", "PUT", ctl + "/clock", {"mode": "running", "offset_ms": 0},
               [F(("mode",), "str", required=True, enum=True),
                F(("offset_ms",), "int", required=True, neg_ok=True)], snap=snap_clock, **kw)
    body_cases(run, f"{p} PUT /journal/capacity", "PUT", ctl + "/journal/capacity",
               {"capacity": 500}, [F(("capacity",), "int", required=True)],
               snap=lambda: (snap(), capacity_of(base)), **kw)
    run.case(f"{p} PUT /journal/capacity", "zero", "PUT", ctl + "/journal/capacity",
             {"capacity": 0}, snap=lambda: (snap(), capacity_of(base)), **kw)
    body_cases(run, f"{p} POST /revocations", "POST", ctl + "/revocations",
               {"id": "corpus-token", "expires_at": 4102444800},
               [F(("id",), "str", required=True),
                F(("expires_at",), "int", required=True, neg_ok=True)],
               snap=snap, **kw)
    for name, q in [("scope-galaxy", "?scope=galaxy"), ("scope-number", "?scope=1"),
                    ("tenant-twice", "?tenant=a&tenant=b")]:
        run.case(f"{p} POST /reset", name, "POST", ctl + "/reset" + q, snap=snap, **kw)
    for name, q in [("scope-galaxy", "?scope=galaxy"), ("limit-neg", "?limit=-1"),
                    ("limit-1e30", "?limit=" + str(HUGE)), ("since-garbage", "?since=yesterday")]:
        run.case(f"{p} GET /journal", name, "GET", ctl + "/journal" + q, snap=snap, **kw)


# --------------------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("identity")
    ap.add_argument("compute")
    ap.add_argument("lb")
    ap.add_argument("--topology", default="launcher", help="named in the output only")
    ap.add_argument("--only", help="run the cases whose 'route case' contains this text")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    I, C, L = (u.rstrip("/") for u in (a.identity, a.compute, a.lb))
    run = Runner(only=a.only, verbose=a.verbose)
    request("POST", I + CONTROL + "/clock/reset")
    started = time.monotonic()
    # A seed record in every mock, so that a reset or a purge shows as a state change.
    authenticate(I, fresh_tenant("seed"))
    for group, fn in [("identity", lambda: identity_cases(run, I)),
                      ("compute", lambda: compute_cases(run, I, C)),
                      ("lb", lambda: lb_cases(run, I, L)),
                      ("control", lambda: [control_cases(run, s, b) for s, b in
                                           (("identity", I), ("compute", C), ("lb", L))])]:
        t = time.monotonic()
        fn()
        print(f"-- {group} done in {time.monotonic() - t:.1f} s", flush=True)
    request("POST", I + CONTROL + "/clock/reset")  # the clock cases may have moved it
    print()
    print("cases per route (passed/total):")
    for route, (ok, bad) in run.counts.items():
        print(f"  {ok:4d}/{ok + bad:<4d} {route}")
    passed = sum(c[0] for c in run.counts.values())
    failed = sum(c[1] for c in run.counts.values())
    print(f"(ran in {time.monotonic() - started:.1f} s)")
    print(f"corpus: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
