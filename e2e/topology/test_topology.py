#!/usr/bin/env python3
"""One black-box suite that proves the Understudy stack means the same in every topology.

    python3 test_topology.py IDENTITY_URL COMPUTE_URL LB_URL [--topology NAME] [--only NAME,...]

Run against the launcher (one process), the three binaries (three processes) and Docker
Compose. Python 3.11 standard library only. Each check starts from a clean stack (every
mock reset, every fault rule of the stack deleted, the stack's clock back to wall time)
and uses tenants of its own. Prints `PASS name` / `FAIL name: detail` per check, then
`topology(NAME): N passed, M failed`; exits 1 on any failure.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import sys
import time
import traceback
import urllib.error
import urllib.request
import uuid
from datetime import datetime

CONTROL = "/_understudy/v1"
REGION = "ORD"

# Environment proxies must not get between the suite and the stack.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class CheckFailed(Exception):
    pass


class Response:
    def __init__(self, method, url, status, raw, headers):
        self.method, self.url, self.status, self.raw, self.headers = method, url, status, raw, headers
        try:
            self.json = json.loads(raw) if raw else None
        except ValueError:
            self.json = None

    def describe(self):
        text = self.raw[:400].decode("utf-8", "replace")
        return f"{self.method} {self.url} -> {self.status} {text!r}"


def call(method, url, body=None, token=None, headers=None, timeout=30):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Accept", "application/json")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("X-Auth-Token", token)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with _OPENER.open(req, timeout=timeout) as res:
            return Response(method, url, res.status, res.read(), dict(res.headers))
    except urllib.error.HTTPError as e:
        return Response(method, url, e.code, e.read(), dict(e.headers or {}))


def expect(resp, *statuses, what=""):
    if resp.status not in statuses:
        want = "/".join(map(str, statuses))
        raise CheckFailed(f"{what + ': ' if what else ''}expected {want}, got {resp.describe()}")
    return resp


def ensure(cond, detail):
    if not cond:
        raise CheckFailed(detail)


def parse_ts(s):
    """An ISO-8601 timestamp (any number of fraction digits, Z) as epoch microseconds."""
    s = s.strip()
    if s.endswith("Z"):
        s = s[:-1]
    frac = 0
    if "." in s:
        s, f = s.split(".", 1)
        frac = int((f + "000000")[:6])
    dt = datetime.fromisoformat(s + "+00:00")
    return int(dt.timestamp()) * 1_000_000 + frac


def contains_code(obj, code):
    """Whether a JSON value has `"code": code` somewhere."""
    if isinstance(obj, dict):
        return obj.get("code") == code or any(contains_code(v, code) for v in obj.values())
    if isinstance(obj, list):
        return any(contains_code(v, code) for v in obj)
    return False


class Stack:
    def __init__(self, identity, compute, lb):
        self.identity = identity.rstrip("/")
        self.compute = compute.rstrip("/")
        self.lb = lb.rstrip("/")
        self.mocks = {"identity": self.identity, "compute": self.compute, "lb": self.lb}

    # -- control API ------------------------------------------------------------------------
    def ctl(self, mock, method, path, body=None):
        return call(method, self.mocks[mock] + CONTROL + path, body)

    def clean(self):
        for name in self.mocks:
            expect(self.ctl(name, "POST", "/reset"), 200, what=f"reset {name}")
        expect(self.ctl("compute", "DELETE", "/faults?scope=stack"), 200, what="delete stack faults")
        expect(self.ctl("identity", "POST", "/clock/reset"), 200, what="clock reset")

    def clock(self, mock):
        return expect(self.ctl(mock, "GET", "/clock"), 200, what=f"clock of {mock}").json

    def clocks(self):
        return {name: self.clock(name) for name in self.mocks}

    def tick(self, seconds):
        r = expect(call("POST", self.identity + "/mimic/v1.1/tick", {"amount": seconds}), 200,
                   what=f"tick {seconds}")
        ensure(isinstance(r.json, dict) and "advanced" in r.json and "now" in r.json,
               f"tick answer lacks advanced/now: {r.describe()}")
        return r.json

    # -- identity ---------------------------------------------------------------------------
    def authenticate(self, tenant, username=None):
        body = {"auth": {"passwordCredentials": {"username": username or f"user-{tenant}",
                                                 "password": "p"},
                         "tenantId": tenant}}
        r = expect(call("POST", self.identity + "/v2.0/tokens", body), 200, 203, what="authenticate")
        access = r.json["access"]
        return Session(self, tenant, access)


class Session:
    def __init__(self, stack, tenant, access):
        self.stack, self.tenant, self.access = stack, tenant, access
        self.token = access["token"]["id"]
        self.catalog = access["serviceCatalog"]
        self.nova = self.endpoint("cloudServersOpenStack")
        self.clb = self.endpoint("cloudLoadBalancers")
        self.nova_control = self.endpoint("cloudServersBehavior")
        self.clb_control = self.endpoint("cloudLoadBalancerControl")

    def endpoint(self, name, region=REGION):
        for svc in self.catalog:
            if svc.get("name") == name:
                for ep in svc.get("endpoints", []):
                    if ep.get("region") == region:
                        return ep["publicURL"].rstrip("/")
        raise CheckFailed(f"catalog has no {name} endpoint in {region}")

    def get(self, url, **kw):
        return call("GET", url, token=self.token, **kw)

    def post(self, url, body, **kw):
        return call("POST", url, body, token=self.token, **kw)

    def delete(self, url, **kw):
        return call("DELETE", url, token=self.token, **kw)

    def image_ref(self):
        r = expect(self.get(self.nova + "/images"), 200, what="list images")
        images = r.json.get("images") or []
        ensure(images, f"no images: {r.describe()}")
        return images[0]["id"]

    def create_server(self, name, metadata=None, image=None):
        server = {"name": name, "imageRef": image or self.image_ref(), "flavorRef": "2"}
        if metadata is not None:
            server["metadata"] = metadata
        return self.post(self.nova + "/servers", {"server": server})

    def server_status(self, server_id):
        r = expect(self.get(f"{self.nova}/servers/{server_id}"), 200, what="get server")
        return r.json["server"]["status"]

    def create_lb(self, name, metadata=None):
        lb = {"name": name, "port": 80, "protocol": "HTTP", "virtualIps": [{"type": "PUBLIC"}]}
        if metadata is not None:
            lb["metadata"] = metadata
        return self.post(self.clb + "/loadbalancers", {"loadBalancer": lb})

    def lb_get(self, lb_id):
        return self.get(f"{self.clb}/loadbalancers/{lb_id}")


def unique_tenant(check):
    return f"topo-{check[:24]}-{uuid.uuid4().hex[:8]}"


# ==========================================================================================
# Checks. Each takes (stack, tenant) and raises CheckFailed (or any exception) on failure.
# ==========================================================================================

def check_catalog_endpoints(st, tenant):
    s = st.authenticate(tenant)
    ensure(s.access["token"]["tenant"]["id"] == tenant,
           f"token tenant {s.access['token']['tenant']} is not {tenant}")
    expect(s.get(s.nova + "/flavors"), 200, what="nova flavors via catalog")
    expect(s.get(s.clb + "/loadbalancers"), 200, what="clb list via catalog")
    for name in ("cloudServersBehavior", "cloudLoadBalancerControl"):
        s.endpoint(name)
    # The publicURLs reach the mocks the suite was given (same port).
    for name, base in (("cloudServersOpenStack", st.compute), ("cloudLoadBalancers", st.lb)):
        port = base.rsplit(":", 1)[-1]
        ensure(f":{port}/" in s.endpoint(name) + "/",
               f"{name} publicURL {s.endpoint(name)} does not name port {port} of {base}")


def check_tick_freezes_stack_clock(st, tenant):
    first = st.tick(5)
    ensure(first["advanced"] == 5, f"tick 5 answered advanced={first['advanced']!r}")
    clocks = st.clocks()
    for name, c in clocks.items():
        ensure(c["mode"] == "frozen", f"after tick, {name} clock mode is {c['mode']!r}: {c}")
        ensure(parse_ts(c["now"]) == parse_ts(first["now"]),
               f"after tick, {name} now {c['now']} != tick now {first['now']}")
    time.sleep(0.2)
    again = st.clocks()
    for name, c in again.items():
        ensure(parse_ts(c["now"]) == parse_ts(first["now"]),
               f"time moved between ticks on {name}: {first['now']} -> {c['now']}")
    second = st.tick(2.5)
    delta = parse_ts(second["now"]) - parse_ts(first["now"])
    ensure(delta == 2_500_000, f"two ticks (5, 2.5): now moved {delta} us, not 2500000: "
                               f"{first['now']} -> {second['now']}")
    for name, c in st.clocks().items():
        ensure(c["mode"] == "frozen" and parse_ts(c["now"]) == parse_ts(second["now"]),
               f"after tick 2.5, {name} clock {c} != tick now {second['now']}")


def check_clock_reset_from_any_mock(st, tenant):
    for origin in st.mocks:
        st.tick(100)
        for name, c in st.clocks().items():
            ensure(c["mode"] == "frozen", f"after tick, {name} is {c['mode']!r}")
        r = expect(st.ctl(origin, "POST", "/clock/reset"), 200, what=f"clock/reset on {origin}")
        wall = time.time() * 1e6
        for name, c in st.clocks().items():
            ensure(c["mode"] == "running",
                   f"clock/reset on {origin}: {name} mode is {c['mode']!r} ({r.describe()})")
            skew = abs(parse_ts(c["now"]) - wall)
            ensure(skew < 5e6, f"clock/reset on {origin}: {name} now {c['now']} is {skew/1e6:.1f} s "
                               f"from wall time")


def _stack_origins(resp):
    stack = resp.json.get("stack") if isinstance(resp.json, dict) else None
    ensure(isinstance(stack, list) and stack, f"answer lists no peers under 'stack': {resp.describe()}")
    return stack


def check_clock_calls_reach_every_mock(st, tenant):
    for origin in st.mocks:
        st.ctl("identity", "POST", "/clock/reset")
        # advance
        r = expect(st.ctl(origin, "POST", "/clock/advance", {"seconds": 7}), 200,
                   what=f"clock/advance on {origin}")
        peers = _stack_origins(r)
        ensure(len(peers) >= 2, f"clock/advance on {origin}: fewer than 2 peers: {r.describe()}")
        for p in peers:
            ensure(p.get("status") == 200, f"clock/advance on {origin}: peer failed: {p}")
        for name, c in st.clocks().items():
            ensure(c["offset_ms"] == 7000,
                   f"clock/advance 7 s on {origin}: {name} offset_ms={c['offset_ms']!r} ({c})")
        # freeze
        r = expect(st.ctl(origin, "POST", "/clock/freeze"), 200, what=f"clock/freeze on {origin}")
        _stack_origins(r)
        cs = st.clocks()
        nows = {parse_ts(c["now"]) for c in cs.values()}
        ensure(all(c["mode"] == "frozen" for c in cs.values()) and len(nows) == 1,
               f"clock/freeze on {origin}: clocks differ: {cs}")
        # set
        target = "2031-03-04T05:06:07Z"
        r = expect(st.ctl(origin, "POST", "/clock/set", {"now": target}), 200,
                   what=f"clock/set on {origin}")
        _stack_origins(r)
        for name, c in st.clocks().items():
            ensure(parse_ts(c["now"]) == parse_ts(target),
                   f"clock/set {target} on {origin}: {name} shows {c}")
        # unfreeze
        r = expect(st.ctl(origin, "POST", "/clock/unfreeze"), 200, what=f"clock/unfreeze on {origin}")
        _stack_origins(r)
        for name, c in st.clocks().items():
            ensure(c["mode"] == "running", f"clock/unfreeze on {origin}: {name} shows {c}")
            ensure(abs(parse_ts(c["now"]) - parse_ts(target)) < 5e6,
                   f"clock/unfreeze on {origin}: {name} jumped away from {target}: {c}")


def check_refused_control_calls_change_nothing_anywhere(st, tenant):
    """A control call refused by any mock (400, the control API's shape) changes the
    stack nowhere: a clock moved back, a reset naming an empty tenant."""
    frozen_at = "2031-03-04T05:06:07Z"
    expect(st.ctl("identity", "POST", "/clock/freeze", {"at": frozen_at}), 200, what="clock/freeze")
    rule = {"match": {"path": "/nowhere/at/all"}, "action": {"type": "error", "status": 500}}
    r = expect(st.ctl("compute", "POST", "/faults", rule), 201, what="post an inert rule")
    rule_id = r.json.get("id") if isinstance(r.json, dict) else None
    ensure(rule_id, f"no rule id in answer: {r.describe()}")
    for origin in st.mocks:
        for route in ("/clock/advance", "/clock/tick"):
            r = expect(st.ctl(origin, "POST", route, {"seconds": -1}), 400,
                       what=f"{route} -1 on {origin}")
            ensure(contains_code(r.json, 400), f"{route} -1 on {origin}: {r.describe()}")
        for name, c in st.clocks().items():
            ensure(c["mode"] == "frozen" and parse_ts(c["now"]) == parse_ts(frozen_at),
                   f"a refused clock move on {origin}: {name} shows {c}")
        r = expect(st.ctl(origin, "POST", "/reset?tenant="), 400, what=f"reset ?tenant= on {origin}")
        ensure(contains_code(r.json, 400), f"reset ?tenant= on {origin}: {r.describe()}")
        ids = [x.get("id") for x in _rules(st, "compute")]
        ensure(rule_id in ids, f"reset ?tenant= on {origin} dropped compute's rule: {ids}")
    expect(st.ctl("compute", "DELETE", f"/faults/{rule_id}"), 200, what="delete the inert rule")
    expect(st.ctl("identity", "POST", "/clock/reset"), 200, what="clock/reset")


def check_server_building_30(st, tenant):
    s = st.authenticate(tenant)
    r = expect(s.create_server("sb30", {"server_building": "30"}), 202, what="create server")
    sid = r.json["server"]["id"]
    ensure(s.server_status(sid) == "BUILD", f"new server is {s.server_status(sid)}, not BUILD")
    st.tick(29)
    status = s.server_status(sid)
    ensure(status == "BUILD", f"after tick 29, server is {status}, not BUILD")
    st.tick(2)
    status = s.server_status(sid)
    ensure(status == "ACTIVE", f"after tick 29+2, server is {status}, not ACTIVE")


def check_lb_pending_delete_10(st, tenant):
    s = st.authenticate(tenant)
    r = expect(s.create_lb("x", [{"key": "lb_pending_delete", "value": "10"}]), 202, what="create lb")
    lb_id = r.json["loadBalancer"]["id"]
    expect(s.delete(f"{s.clb}/loadbalancers/{lb_id}"), 202, what="delete lb")
    g = expect(s.lb_get(lb_id), 200, what="get lb after delete")
    status = g.json["loadBalancer"]["status"]
    ensure(status == "PENDING_DELETE", f"after DELETE, lb status is {status!r}, "
                                              f"not PENDING_DELETE")
    st.tick(11)
    # A DELETED balancer stays visible (lb.deleted_visible_time_ms, an hour): 200 DELETED.
    g = expect(s.lb_get(lb_id), 200, what="get lb after tick 11")
    status = g.json["loadBalancer"]["status"]
    ensure(status == "DELETED", f"after tick 11, lb status is {status!r}, not DELETED")


def check_lb_building_10(st, tenant):
    s = st.authenticate(tenant)
    r = expect(s.create_lb("x", [{"key": "lb_building", "value": "10"}]), 202, what="create lb")
    lb_id = r.json["loadBalancer"]["id"]
    status = expect(s.lb_get(lb_id), 200, what="get lb").json["loadBalancer"]["status"]
    ensure(status == "BUILD", f"new lb with lb_building=10 is {status!r}, not BUILD")
    st.tick(11)
    status = expect(s.lb_get(lb_id), 200, what="get lb").json["loadBalancer"]["status"]
    ensure(status == "ACTIVE", f"after tick 11, lb is {status!r}, not ACTIVE")


def check_catc010_build_timeout_same_token(st, tenant):
    s = st.authenticate(tenant)  # once: the token must outlive 90000 s of virtual time
    behavior = {"criteria": [{"server_name": "catc10.*"}], "name": "sequence",
                "parameters": {"behaviors": [{"name": "build", "parameters": {"duration": 90000}},
                                             {"name": "default"}, {"name": "default"}]}}
    r = expect(s.post(s.nova_control + "/behaviors/creation", behavior), 201,
               what="register creation behavior")
    ensure(isinstance(r.json, dict) and r.json.get("id"), f"behavior answer has no id: {r.describe()}")
    r = expect(s.create_server("catc10-a"), 202, what="create catc10-a")
    sid = r.json["server"]["id"]
    st.tick(60)
    g = expect(s.get(f"{s.nova}/servers/{sid}"), 200, what="get server after tick 60")
    ensure(g.json["server"]["status"] == "BUILD",
           f"after tick 60, server is {g.json['server']['status']}, not BUILD")
    st.tick(89939)  # 89999 s in all
    g = expect(s.get(f"{s.nova}/servers/{sid}"), 200, what="get server after 89999 s (same token)")
    ensure(g.json["server"]["status"] == "BUILD",
           f"after 89999 s of a 90000 s build, server is {g.json['server']['status']}, not BUILD")
    st.tick(2)  # 90001 s
    g = expect(s.get(f"{s.nova}/servers/{sid}"), 200, what="get server after 90001 s (same token)")
    ensure(g.json["server"]["status"] == "ACTIVE",
           f"after 90001 s of a 90000 s build, server is {g.json['server']['status']}, not ACTIVE")


RULE_503 = {"action": {"type": "error", "status": 503}}


def check_fault_on_compute_stays_on_compute(st, tenant):
    s = st.authenticate(tenant)
    r = expect(st.ctl("compute", "POST", "/faults", RULE_503), 201, what="post fault to compute")
    ensure(r.json.get("match", {}).get("service") == "compute",
           f"stored rule's match.service is not compute: {r.describe()}")
    expect(call("GET", st.identity + "/v2.0"), 200, what="identity GET /v2.0 with a compute fault")
    expect(s.get(s.clb + "/loadbalancers"), 200, what="clb list with a compute fault")
    f = expect(s.get(s.nova + "/flavors"), 503, what="nova flavors with a compute fault")
    ensure(contains_code(f.json, 503), f"nova 503 body has no code 503: {f.describe()}")


def check_fault_naming_identity_forwarded(st, tenant):
    s = st.authenticate(tenant)
    rule = {"match": {"service": "identity"}, "action": {"type": "error", "status": 503}}
    r = expect(st.ctl("compute", "POST", "/faults", rule), 201, what="post identity fault to compute")
    rule_id = r.json.get("id") if isinstance(r.json, dict) else None
    ensure(rule_id, f"no rule id in answer: {r.describe()}")
    expect(call("GET", st.identity + "/v2.0"), 503, what="identity GET /v2.0 with an identity fault")
    body = {"auth": {"passwordCredentials": {"username": f"u-{tenant}", "password": "p"}, "tenantId": tenant}}
    expect(call("POST", st.identity + "/v2.0/tokens", body), 503, what="token POST with an identity fault")
    expect(s.get(s.nova + "/flavors"), 200, what="nova flavors with an identity fault")
    ids_identity = [x.get("id") for x in _rules(st, "identity")]
    ids_compute = [x.get("id") for x in _rules(st, "compute")]
    ensure(rule_id in ids_identity, f"identity's fault list lacks {rule_id}: {ids_identity}")
    ensure(rule_id not in ids_compute, f"compute's fault list has {rule_id} (held by identity)")
    expect(st.ctl("compute", "DELETE", f"/faults/{rule_id}"), 200, what="delete it through compute")
    expect(call("GET", st.identity + "/v2.0"), 200, what="identity GET /v2.0 after delete")
    expect(call("POST", st.identity + "/v2.0/tokens", body), 200, 203, what="token POST after delete")
    ids_identity = [x.get("id") for x in _rules(st, "identity")]
    ensure(rule_id not in ids_identity, f"identity still lists {rule_id} after delete")


def _rules(st, mock):
    r = expect(st.ctl(mock, "GET", "/faults"), 200, what=f"list {mock} faults")
    j = r.json
    if isinstance(j, dict):
        for key in ("rules", "faults", "items"):
            if isinstance(j.get(key), list):
                return j[key]
    if isinstance(j, list):
        return j
    raise CheckFailed(f"cannot read fault list: {r.describe()}")


def check_stack_fault_budget_per_service(st, tenant):
    s = st.authenticate(tenant)
    rule = {"action": {"type": "error", "status": 503}, "budget": {"times": 1}}
    expect(st.ctl("lb", "POST", "/faults?scope=stack", rule), 200, 201, what="post stack fault")
    probes = {
        "identity": lambda: call("GET", st.identity + "/v2.0"),
        "compute": lambda: s.get(s.nova + "/flavors"),
        "lb": lambda: s.get(s.clb + "/loadbalancers"),
    }
    for name, probe in probes.items():
        expect(probe(), 503, what=f"first {name} request under a once-per-service stack fault")
        expect(probe(), 200, what=f"second {name} request (budget spent)")
    for name, probe in probes.items():
        expect(probe(), 200, what=f"{name} request after every budget is spent")


def check_journal_stack_scope(st, tenant):
    st.tick(1)  # a frozen clock: every entry below has the same virtual time
    s = st.authenticate(tenant)
    expect(s.get(s.nova + "/flavors"), 200, what="nova flavors")
    expect(s.get(s.clb + "/loadbalancers"), 200, what="clb list")
    r = expect(st.ctl("compute", "GET", "/journal?scope=stack"), 200, what="stack journal")
    entries = r.json.get("entries") if isinstance(r.json, dict) else None
    ensure(isinstance(entries, list), f"no entries: {r.describe()}")
    services = {e.get("service") for e in entries}
    ensure({"identity", "compute", "lb"} <= services,
           f"stack journal services {sorted(map(str, services))}, expected identity, compute, lb")
    ensure(any(e.get("service") == "identity" and e.get("path") == "/v2.0/tokens" for e in entries),
           "stack journal lacks identity's POST /v2.0/tokens")
    ensure(any(e.get("service") == "lb" and (e.get("path") or "").endswith("/loadbalancers")
               for e in entries), "stack journal lacks lb's GET loadbalancers")
    order = [e.get("service") for e in entries
             if (e.get("path") or "").endswith(("/v2.0/tokens", "/flavors", "/loadbalancers"))]
    ensure(order[-3:] == ["identity", "compute", "lb"],
           f"the stack journal is not one timeline: {order[-3:]}")
    r = expect(st.ctl("compute", "GET", "/journal"), 200, what="compute journal")
    entries = r.json.get("entries") or []
    services = {e.get("service") for e in entries}
    ensure(services == {"compute"}, f"compute journal (no scope) has services {services}")


def check_token_revocation(st, tenant):
    s = st.authenticate(tenant)
    expect(s.get(s.nova + "/flavors"), 200, what="nova before revocation")
    expect(call("DELETE", f"{st.identity}/v2.0/tokens/{s.token}", token=s.token), 204,
           what="revoke token")
    expect(s.get(s.nova + "/flavors"), 401, what="nova with the revoked token")


def check_token_revocation_lb(st, tenant):
    s = st.authenticate(tenant)
    expect(s.get(s.clb + "/loadbalancers"), 200, what="clb before revocation")
    expect(call("DELETE", f"{st.identity}/v2.0/tokens/{s.token}", token=s.token), 204,
           what="revoke token")
    expect(s.get(s.clb + "/loadbalancers"), 401, what="clb with the revoked token")


def check_scale_1000_servers_40_balancers(st, tenant):
    s = st.authenticate(tenant)
    image = s.image_ref()

    def server(i):
        return s.create_server(f"scale-{i:04d}", image=image)

    def balancer(i):
        return s.create_lb(f"scale-lb-{i:02d}")

    bad = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        for r in pool.map(server, range(1000)):
            if r.status != 202:
                bad.append(r)
        servers_bad = len(bad)
        for r in pool.map(balancer, range(40)):
            if r.status != 202:
                bad.append(r)
    if bad:
        first = {}
        for r in bad:
            first.setdefault(r.status, r)
        detail = "; ".join(f"{n}x {code}, first: {first[code].describe()}"
                           for code, n in sorted(_count(bad).items()))
        raise CheckFailed(f"{servers_bad}/1000 server creates and {len(bad) - servers_bad}/40 "
                          f"balancer creates not 202 ({detail})")
    # The tenant really has them all (one page of servers: compute.max_page_size is 1000).
    r = expect(s.get(s.nova + "/servers?limit=1000"), 200, what="list servers")
    n = len(r.json.get("servers") or [])
    ensure(n == 1000, f"tenant lists {n} servers, not 1000")
    r = expect(s.get(s.clb + "/loadbalancers"), 200, what="list balancers")
    n = len(r.json.get("loadBalancers") or [])
    ensure(n == 40, f"tenant lists {n} balancers, not 40")


def check_state_out_and_in_across_the_stack(st, tenant):
    """GET /state?scope=stack, reset every mock, PUT it back: the server and the balancer
    (on two other mocks than the one asked) answer as before."""
    s = st.authenticate(tenant)
    sid = expect(s.create_server("kept"), 202, what="create server").json["server"]["id"]
    lb_id = expect(s.create_lb("kept-lb"), 202, what="create balancer").json["loadBalancer"]["id"]
    before = (s.server_status(sid), expect(s.lb_get(lb_id), 200, what="get lb").json)
    snapshot = expect(st.ctl("identity", "GET", "/state?scope=stack"), 200, what="state").json
    expect(st.ctl("identity", "POST", "/reset?scope=stack"), 200, what="reset the stack")
    expect(s.get(f"{s.nova}/servers/{sid}"), 404, what="the server is gone after the reset")
    expect(st.ctl("identity", "PUT", "/state?scope=stack", snapshot), 200, what="put the state back")
    after = (s.server_status(sid), expect(s.lb_get(lb_id), 200, what="get lb again").json)
    ensure(after == before, f"restored stack answers otherwise: {before} != {after}")


def check_console_and_har_follow_the_stack(st, tenant):
    """The console served by the LB shows Compute's server; Identity's HAR holds Compute's
    request with its body."""
    s = st.authenticate(tenant)
    name = f"<b>console-{uuid.uuid4().hex[:6]}</b>"
    expect(s.create_server(name), 202, what="create server")
    panel = call("GET", st.lb + "/_understudy/ui/panels/state")
    expect(panel, 200, what="the LB's console state panel")
    text = panel.raw.decode()
    escaped = name.replace("<", "&lt;").replace(">", "&gt;")
    ensure(escaped in text and name not in text, f"server not shown, or not escaped: {text[:500]}")
    har = expect(st.ctl("identity", "GET", f"/journal.har?scope=stack&tenant={tenant}&method=POST"),
                 200, what="the stack's HAR").json
    posts = [e for e in har["log"]["entries"] if e["request"]["url"].endswith("/servers")]
    ensure(posts and name in posts[-1]["request"]["postData"]["text"],
           f"the create is not in Identity's HAR with its body: {json.dumps(har)[:500]}")


def check_external_api_reaches_its_tenant_and_a_tenant_reset(st, tenant):
    """A service added to Identity's catalog (Mimic's OS-KSADM service and OS-KSCATALOG
    template), enabled for one tenant, shows in that tenant's catalog with its id in the URL
    and in no other's catalog; a tenant reset sent to Compute for the stack forgets the enablement on
    Identity."""
    ks = st.identity + "/identity/v2.0"
    admin = "topology-admin"
    name = f"topoExt{uuid.uuid4().hex[:8]}"
    svc = expect(call("POST", ks + "/services", {"name": name, "type": "topo"}, token=admin),
                 201, what="add a service").json["OS-KSADM:service"]
    tid = f"{name}-tmpl"
    try:
        tmpl = {"id": tid, "region": REGION, "type": "topo", "name": name,
                "publicURL": "https://topo.example/v1/%tenant_id%"}
        expect(call("POST", ks + "/OS-KSCATALOG/endpointTemplates", tmpl, token=admin), 201,
               what="add a template")
        expect(call("POST", f"{ks}/tenants/{tenant}/OS-KSCATALOG/endpoints",
                    {"OS-KSCATALOG:endpointTemplate": {"id": tid}}, token=admin), 201,
               what="enable it for the tenant")
        s = st.authenticate(tenant)
        want = f"https://topo.example/v1/{tenant}"
        ensure(s.endpoint(name) == want, f"{name} is {s.endpoint(name)}, not {want}")
        ensure(s.catalog[0]["name"] == name, "external services come first")
        other = st.authenticate(f"{tenant}-other")
        theirs = [e for e in other.catalog if e["name"] == name]
        ensure(not theirs, f"another tenant sees {theirs}")
        expect(st.ctl("compute", "POST", f"/reset?scope=stack&tenant={tenant}"), 200,
               what="reset the tenant across the stack")
        again = [e for e in st.authenticate(tenant).catalog if e["name"] == name]
        ensure(not again, f"the tenant's reset left it enabled: {again}")
    finally:
        call("DELETE", f"{ks}/OS-KSCATALOG/endpointTemplates/{tid}", token=admin)
        expect(call("DELETE", f"{ks}/services/{svc['id']}", token=admin), 204,
               what="remove the service")


def _count(responses):
    out = {}
    for r in responses:
        out[r.status] = out.get(r.status, 0) + 1
    return out


CHECKS = [
    ("catalog_endpoints", check_catalog_endpoints),
    ("tick_freezes_stack_clock", check_tick_freezes_stack_clock),
    ("clock_reset_from_any_mock", check_clock_reset_from_any_mock),
    ("clock_calls_reach_every_mock", check_clock_calls_reach_every_mock),
    ("refused_control_calls_change_nothing_anywhere",
     check_refused_control_calls_change_nothing_anywhere),
    ("server_building_30", check_server_building_30),
    ("lb_pending_delete_10", check_lb_pending_delete_10),
    ("lb_building_10", check_lb_building_10),
    ("catc010_build_timeout_same_token", check_catc010_build_timeout_same_token),
    ("fault_on_compute_stays_on_compute", check_fault_on_compute_stays_on_compute),
    ("fault_naming_identity_forwarded", check_fault_naming_identity_forwarded),
    ("stack_fault_budget_per_service", check_stack_fault_budget_per_service),
    ("journal_stack_scope", check_journal_stack_scope),
    ("token_revocation", check_token_revocation),
    ("token_revocation_lb", check_token_revocation_lb),
    ("scale_1000_servers_40_balancers", check_scale_1000_servers_40_balancers),
    ("state_out_and_in_across_the_stack", check_state_out_and_in_across_the_stack),
    ("console_and_har_follow_the_stack", check_console_and_har_follow_the_stack),
    ("external_api_reaches_its_tenant_and_a_tenant_reset",
     check_external_api_reaches_its_tenant_and_a_tenant_reset),
]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("identity")
    p.add_argument("compute")
    p.add_argument("lb")
    p.add_argument("--topology", default="unnamed")
    p.add_argument("--only", default="", help="comma-separated check names")
    args = p.parse_args(argv)
    st = Stack(args.identity, args.compute, args.lb)
    only = {x for x in args.only.split(",") if x}
    unknown = only - {n for n, _ in CHECKS}
    if unknown:
        p.error(f"unknown checks: {', '.join(sorted(unknown))}")
    passed = failed = 0
    for name, fn in CHECKS:
        if only and name not in only:
            continue
        try:
            try:
                st.clean()
            except CheckFailed as e:
                raise CheckFailed(f"setup: {e}") from None
            fn(st, unique_tenant(name))
        except CheckFailed as e:
            failed += 1
            print(f"FAIL {name}: {e}", flush=True)
        except Exception as e:  # a crash of the check is a failure too, with where it happened
            failed += 1
            where = traceback.extract_tb(e.__traceback__)[-1]
            print(f"FAIL {name}: {type(e).__name__}: {e} (line {where.lineno})", flush=True)
        else:
            passed += 1
            print(f"PASS {name}", flush=True)
    # Leave the stack as clean as we found it (best effort).
    try:
        st.clean()
    except Exception:
        pass
    print(f"topology({args.topology}): {passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
