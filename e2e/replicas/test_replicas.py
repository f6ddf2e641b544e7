#!/usr/bin/env python3
"""Replicas of one mock share one state through the Redis store backend.

    python3 test_replicas.py --identity URL --compute URL1,URL2,URL3 --lb URL1,URL2 \
        [--compute-pids P1,P2,P3] [--redis-port PORT --redis-cmd 'redis-server …' \
         --redis-pid PID --redis-pidfile FILE --redis-log FILE] \
        [--lb-pending-update-ms MS] [--backend redis|memory] [--only NAME,...]

`run.sh` starts the stack (its own redis-server, one identity-mock, three compute-mock and
two lb-mock processes, one store namespace) and calls this with everything filled in.
Python 3.11 standard library only. Each check uses a tenant of its own; the checks that
kill a replica or stop Redis come last. Prints `PASS name` / `FAIL name: detail` per check,
then `replicas: N passed, M failed`; exits 1 on any failure (2 on a usage error).
"""
from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import urllib.error
import urllib.request
import uuid
from datetime import datetime

CONTROL = "/_understudy/v1"
FLAVOR = "2"

# Environment proxies must not get between the suite and the stack.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

# What a request that never got an HTTP answer raises (refused, reset, timed out, cut short).
CONNECTION_ERRORS = (urllib.error.URLError, OSError, http.client.HTTPException)


class CheckFailed(Exception):
    pass


class Response:
    def __init__(self, method, url, status, raw, elapsed):
        self.method, self.url, self.status, self.raw, self.elapsed = method, url, status, raw, elapsed
        try:
            self.json = json.loads(raw) if raw else None
        except ValueError:
            self.json = None

    def describe(self):
        text = self.raw[:400].decode("utf-8", "replace")
        return f"{self.method} {self.url} -> {self.status} {text!r}"


def call(method, url, body=None, token=None, timeout=30):
    """One HTTP request; any HTTP status is a Response, no answer at all raises."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Accept", "application/json")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("X-Auth-Token", token)
    start = time.monotonic()
    try:
        with _OPENER.open(req, timeout=timeout) as res:
            return Response(method, url, res.status, res.read(), time.monotonic() - start)
    except urllib.error.HTTPError as e:
        return Response(method, url, e.code, e.read(), time.monotonic() - start)


def expect(resp, *statuses, what=""):
    if resp.status not in statuses:
        want = "/".join(map(str, statuses))
        raise CheckFailed(f"{what + ': ' if what else ''}expected {want}, got {resp.describe()}")
    return resp


def ensure(cond, detail):
    if not cond:
        raise CheckFailed(detail)


def parse_ts(s):
    """An ISO-8601 timestamp (any number of fraction digits, Z) as epoch seconds (float)."""
    s = s.strip()
    if s.endswith("Z"):
        s = s[:-1]
    frac = 0.0
    if "." in s:
        s, f = s.split(".", 1)
        frac = float("0." + f)
    return datetime.fromisoformat(s + "+00:00").timestamp() + frac


def nova_shaped(obj, code):
    """Nova's error body: one key (`computeFault`, `serviceUnavailable`, …) holding `code`."""
    return (isinstance(obj, dict) and len(obj) == 1
            and isinstance(next(iter(obj.values())), dict)
            and next(iter(obj.values())).get("code") == code)


def clb_shaped(obj, code):
    """CLB's error body: `{"message", "code"}`, or one wrapping key (`overLimit`) holding them."""
    return isinstance(obj, dict) and (obj.get("code") == code or nova_shaped(obj, code))


def count(items):
    out = {}
    for x in items:
        out[x] = out.get(x, 0) + 1
    return out


def port_open(port, timeout=1.0):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def redis_ping(port, timeout=1.0):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class Stack:
    def __init__(self, args):
        self.identity = args.identity.rstrip("/")
        self.computes = [u.rstrip("/") for u in args.compute.split(",") if u]
        self.lbs = [u.rstrip("/") for u in args.lb.split(",") if u]
        self.compute_pids = [int(p) for p in args.compute_pids.split(",") if p]
        self.redis_port = args.redis_port
        self.redis_pid = args.redis_pid
        self.redis_cmd = shlex.split(args.redis_cmd) if args.redis_cmd else []
        self.redis_pidfile = args.redis_pidfile
        self.redis_log = args.redis_log
        self.lb_pending_ms = args.lb_pending_update_ms
        self.dead_computes = set()  # indexes of compute replicas this suite killed

    def alive_computes(self):
        return [i for i in range(len(self.computes)) if i not in self.dead_computes]

    def can_kill_compute(self, i):
        """Why compute replica i cannot be killed (None: it can)."""
        return None if len(self.compute_pids) > i else f"no pid for compute replica {i + 1} (--compute-pids)"

    def kill_compute(self, i):
        """SIGKILL compute replica i, at once (e2e/scaled's Stack does `docker kill`)."""
        os.kill(self.compute_pids[i], signal.SIGKILL)

    def ctl(self, base, method, path, body=None, timeout=30):
        return call(method, base + CONTROL + path, body, timeout=timeout)

    def authenticate(self, tenant):
        body = {"auth": {"passwordCredentials": {"username": f"user-{tenant}", "password": "p"},
                         "tenantId": tenant}}
        r = expect(call("POST", self.identity + "/v2.0/tokens", body), 200, 203, what="authenticate")
        token = r.json["access"]["token"]
        return Session(self, token["tenant"]["id"], token["id"])

    def clean(self):
        """Every fault rule gone (a rule left behind would fail the next check)."""
        bases = [self.identity] + [self.computes[i] for i in self.alive_computes()] + self.lbs
        for base in bases:
            expect(self.ctl(base, "DELETE", "/faults"), 200, 204, what=f"delete faults on {base}")


class Session:
    def __init__(self, stack, tenant, token):
        self.stack, self.tenant, self.token = stack, tenant, token
        self._image = None

    def nova(self, i):
        return f"{self.stack.computes[i]}/v2/{self.tenant}"

    def clb(self, i):
        return f"{self.stack.lbs[i]}/v1.0/{self.tenant}"

    def get(self, url, **kw):
        return call("GET", url, token=self.token, **kw)

    def post(self, url, body, **kw):
        return call("POST", url, body, token=self.token, **kw)

    def delete(self, url, **kw):
        return call("DELETE", url, token=self.token, **kw)

    def image_ref(self):
        if self._image is None:
            r = expect(self.get(self.nova(0) + "/images"), 200, what="list images")
            images = (r.json or {}).get("images") or []
            ensure(images, f"no images: {r.describe()}")
            self._image = images[0]["id"]
        return self._image

    def create_server(self, i, name, **kw):
        body = {"server": {"name": name, "imageRef": self.image_ref(), "flavorRef": FLAVOR}}
        return self.post(self.nova(i) + "/servers", body, **kw)

    def list_servers_detail(self, i):
        """Every server of the tenant through compute replica i, following servers_links."""
        url = f"{self.nova(i)}/servers/detail?limit=1000"
        out = []
        for _ in range(100):
            r = expect(self.get(url), 200, what=f"list servers/detail through compute replica {i + 1}")
            out.extend(r.json.get("servers") or [])
            nxt = [l.get("href") for l in r.json.get("servers_links") or [] if l.get("rel") == "next"]
            if not nxt:
                return out
            url = nxt[0]
        raise CheckFailed("servers/detail: more than 100 pages")

    def lb(self, j, lb_id):
        r = expect(self.get(f"{self.clb(j)}/loadbalancers/{lb_id}"), 200,
                   what=f"get balancer through lb replica {j + 1}")
        return r.json["loadBalancer"]

    def add_node(self, j, lb_id, address, **kw):
        body = {"nodes": [{"address": address, "port": 80, "condition": "ENABLED"}]}
        return self.post(f"{self.clb(j)}/loadbalancers/{lb_id}/nodes", body, **kw)


def unique_tenant(check):
    return f"repl-{check[:20]}-{uuid.uuid4().hex[:8]}"


# ==========================================================================================
# Checks. Each takes (stack, tenant) and raises CheckFailed (or any exception) on failure.
# ==========================================================================================

def check_shared_server_lifecycle(st, tenant):
    """Created through replica 1, read through 2, deleted through 3, gone through 1."""
    s = st.authenticate(tenant)
    r = expect(s.create_server(0, "shared-1"), 202, what="create through compute replica 1")
    sid = r.json["server"]["id"]
    g = expect(s.get(f"{s.nova(1)}/servers/{sid}"), 200, what="read through compute replica 2")
    ensure(g.json["server"]["id"] == sid, f"replica 2 answered another server: {g.describe()}")
    expect(s.delete(f"{s.nova(2)}/servers/{sid}"), 204, what="delete through compute replica 3")
    for i in range(3):
        expect(s.get(f"{s.nova(i)}/servers/{sid}"), 404,
               what=f"read the deleted server through compute replica {i + 1}")


def check_concurrent_creates_300(st, tenant):
    """300 concurrent creates over three replicas: 300 servers, unique ids and IPv4s."""
    s = st.authenticate(tenant)
    s.image_ref()

    def create(i):
        return s.create_server(i % 3, f"load-{i:03d}")

    with concurrent.futures.ThreadPoolExecutor(max_workers=30) as pool:
        results = list(pool.map(create, range(300)))
    bad = [r for r in results if r.status != 202]
    if bad:
        codes = count(r.status for r in bad)
        raise CheckFailed(f"{len(bad)}/300 creates not 202 ({codes}); first: {bad[0].describe()}")
    created = [r.json["server"]["id"] for r in results]
    ensure(len(set(created)) == 300, f"the 300 creates answered {len(set(created))} distinct ids")
    for i in range(3):
        servers = s.list_servers_detail(i)
        ids = [x["id"] for x in servers]
        ensure(len(ids) == 300, f"compute replica {i + 1} lists {len(ids)} servers, not 300")
        ensure(set(ids) == set(created),
               f"compute replica {i + 1} lists other ids than those created "
               f"({len(set(ids) - set(created))} unknown, {len(set(created) - set(ids))} missing)")
        v4 = [a["addr"] for x in servers
              for net in ("public", "private") for a in (x.get("addresses") or {}).get(net) or []
              if a.get("version") == 4]
        ensure(len(v4) == 600, f"compute replica {i + 1}: {len(v4)} IPv4 addresses, not 600 "
                               f"(one public, one private per server)")
        dup = {a: n for a, n in count(v4).items() if n > 1}
        ensure(not dup, f"compute replica {i + 1}: IPv4 addresses given twice: "
                        f"{dict(list(dup.items())[:5])} ({len(dup)} in all)")


class ClockPusher:
    """Advances the virtual clock once per generation: of the threads refused for the same
    PENDING_UPDATE, only the first moves the clock; the others just retry."""

    def __init__(self, st, seconds):
        self.st, self.seconds = st, seconds
        self.lock = threading.Lock()
        self.gen = 0
        self.advances = 0

    def advance_if(self, seen):
        with self.lock:
            if self.gen != seen:
                return
            base = self.st.lbs[self.gen % len(self.st.lbs)]
            expect(self.st.ctl(base, "POST", "/clock/advance", {"seconds": self.seconds}), 200,
                   what="clock/advance")
            self.gen += 1
            self.advances += 1


def is_immutable(r):
    """CLB's 422 for a balancer that is not ACTIVE (but not deleted): retry after a tick."""
    msg = (r.json or {}).get("message", "") if isinstance(r.json, dict) else ""
    return r.status == 422 and "immutable" in msg and "deleted" not in msg


def check_lb_node_limit_across_replicas(st, tenant):
    """40 concurrent single-node adds over two lb replicas stop at exactly 25 nodes."""
    s = st.authenticate(tenant)
    pending_s = st.lb_pending_ms / 1000.0
    tick = max(1.0, pending_s + 1.0)
    lb = {"name": "replicas", "protocol": "HTTP", "port": 80, "virtualIps": [{"type": "PUBLIC"}]}
    r = expect(s.post(s.clb(0) + "/loadbalancers", {"loadBalancer": lb}), 202,
               what="create balancer through lb replica 1")
    lb_id = r.json["loadBalancer"]["id"]
    # BUILD lasts lb.build_time_ms of virtual time (0 by default); read through replica 2.
    for _ in range(10):
        status = s.lb(1, lb_id)["status"]
        if status == "ACTIVE":
            break
        expect(st.ctl(st.lbs[0], "POST", "/clock/advance", {"seconds": 60}), 200, what="clock/advance")
    ensure(status == "ACTIVE", f"the new balancer is {status}, not ACTIVE, after 10 min of virtual time")

    # One change through replica 1 is seen by replica 2, status included.
    expect(s.add_node(0, lb_id, "10.0.1.1"), 202, what="first node through lb replica 1")
    seen = s.lb(1, lb_id)
    ensure(seen.get("nodeCount") == 1, f"lb replica 2 shows nodeCount {seen.get('nodeCount')}, not 1")
    if st.lb_pending_ms > 0:
        ensure(seen["status"] == "PENDING_UPDATE",
               f"after a change through replica 1, replica 2 shows {seen['status']}, not PENDING_UPDATE "
               f"(lb.pending_update_time_ms = {st.lb_pending_ms})")
        r = s.add_node(1, lb_id, "10.0.1.2")
        ensure(is_immutable(r), f"an add through replica 2 while PENDING_UPDATE: expected 422 "
                                f"immutable, got {r.describe()}")
        expect(st.ctl(st.lbs[1], "POST", "/clock/advance", {"seconds": tick}), 200, what="clock/advance")
        status = s.lb(0, lb_id)["status"]
        ensure(status == "ACTIVE", f"after advancing {tick} s through lb replica 2, replica 1 shows "
                                   f"{status}, not ACTIVE")

    # 40 concurrent single-node adds, alternating replicas; a watcher samples nodeCount.
    pusher = ClockPusher(st, tick)
    stop = threading.Event()
    max_seen = [0, None]

    def watch():
        k = 0
        while not stop.is_set():
            try:
                r = s.get(f"{s.clb(k % 2)}/loadbalancers/{lb_id}", timeout=10)
                if r.status == 200:
                    n = r.json["loadBalancer"].get("nodeCount", 0)
                    if n > max_seen[0]:
                        max_seen[0], max_seen[1] = n, f"lb replica {k % 2 + 1}"
            except CONNECTION_ERRORS:
                pass
            k += 1
            time.sleep(0.01)

    deadline = time.monotonic() + 180

    def add(i):
        address = f"10.0.0.{i + 1}"
        refused = 0
        while True:
            seen_gen = pusher.gen
            r = s.add_node(i % 2, lb_id, address)
            if not is_immutable(r) or time.monotonic() > deadline:
                return address, r, refused
            refused += 1
            pusher.advance_if(seen_gen)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=40) as pool:
            results = list(pool.map(add, range(40)))
    finally:
        stop.set()
        watcher.join(timeout=15)
    codes = count(r.status for _, r, _ in results)
    retried = sum(n for _, _, n in results)
    summary = f"answers {codes}, {retried} retries after 422 PENDING_UPDATE, {pusher.advances} clock advances"
    odd = [r for _, r, _ in results if r.status not in (202, 413)]
    ensure(not odd, f"adds answered neither 202 nor 413 ({summary}); first: {odd[0].describe() if odd else ''}")
    ensure(codes.get(202, 0) == 24 and codes.get(413, 0) == 16,
           f"expected 24 adds accepted (25 with the first) and 16 refused 413: {summary}")
    for _, r, _ in results:
        if r.status == 413:
            ensure(clb_shaped(r.json, 413) and "must not exceed 25" in r.json.get("message", ""),
                   f"a refused add is not CLB's node-limit 413: {r.describe()}")
    ensure(max_seen[0] <= 25, f"{max_seen[1]} showed nodeCount {max_seen[0]} during the adds")
    accepted = {"10.0.1.1"} | {a for a, r, _ in results if r.status == 202}
    for j in range(len(st.lbs)):
        r = expect(s.get(f"{s.clb(j)}/loadbalancers/{lb_id}/nodes"), 200,
                   what=f"list nodes through lb replica {j + 1}")
        addresses = [n["address"] for n in r.json.get("nodes") or []]
        ensure(len(addresses) == 25, f"lb replica {j + 1} lists {len(addresses)} nodes, not 25 ({summary})")
        ensure(set(addresses) == accepted,
               f"lb replica {j + 1} lists other nodes than those accepted: "
               f"extra {sorted(set(addresses) - accepted)}, missing {sorted(accepted - set(addresses))}")
        n = s.lb(j, lb_id).get("nodeCount")
        ensure(n == 25, f"lb replica {j + 1} shows nodeCount {n}, not 25")
    print(f"  ({summary}; largest nodeCount seen {max_seen[0]})", flush=True)


def check_fault_budget_shared(st, tenant):
    """A rule posted to replica 1 with times: 2 fires exactly twice across three replicas."""
    s = st.authenticate(tenant)
    sid = expect(s.create_server(0, "faulty"), 202, what="create server").json["server"]["id"]
    rule = {"match": {"method": "GET", "path": "/v2/*/servers/*", "tenant": tenant},
            "action": {"type": "error", "status": 503, "message": "replicas"},
            "budget": {"times": 2}}
    r = expect(st.ctl(st.computes[0], "POST", "/faults", rule), 201, what="post the rule to compute replica 1")
    rule_id = r.json.get("id")
    ensure(rule_id, f"no rule id in the answer: {r.describe()}")

    def get(i):
        return i % 3 + 1, s.get(f"{s.nova(i % 3)}/servers/{sid}")

    # First through replica 3, which did not receive the rule: it holds it all the same.
    first = s.get(f"{s.nova(2)}/servers/{sid}")
    ensure(first.status == 503, f"first GET, through compute replica 3: expected the rule's 503, "
                                f"got {first.describe()}")
    ensure(nova_shaped(first.json, 503), f"the 503 is not Nova-shaped with code 503: {first.describe()}")
    # Then nine at once over the three: one more 503 and no more.
    with concurrent.futures.ThreadPoolExecutor(max_workers=9) as pool:
        rest = list(pool.map(get, range(9)))
    statuses = [first.status] + [r.status for _, r in rest]
    where = [f"replica {i}: {r.status}" for i, r in rest]
    ensure(statuses.count(503) == 2 and statuses.count(200) == 8,
           f"10 GETs: expected two 503s and eight 200s, got {count(statuses)} "
           f"(first through replica 3: 503; then {', '.join(where)})")
    for _, r in rest:
        if r.status == 503:
            ensure(nova_shaped(r.json, 503), f"the 503 is not Nova-shaped with code 503: {r.describe()}")
    g = expect(st.ctl(st.computes[2], "GET", f"/faults/{rule_id}"), 200,
               what="GET the rule on compute replica 3")
    ensure(g.json.get("fired") == 2, f"compute replica 3 shows fired {g.json.get('fired')!r}, not 2: "
                                     f"{g.describe()}")
    # Replica 3's own list holds the rule (a list is never gathered from peers).
    lst = expect(st.ctl(st.computes[2], "GET", "/faults"), 200, what="list rules on compute replica 3")
    rules = lst.json if isinstance(lst.json, list) else next(
        (v for v in (lst.json or {}).values() if isinstance(v, list)), [])
    mine = [x for x in rules if x.get("id") == rule_id]
    ensure(mine and mine[0].get("fired") == 2,
           f"compute replica 3's own list lacks the rule or its count: {lst.describe()}")
    expect(st.ctl(st.computes[1], "DELETE", f"/faults/{rule_id}"), 200, 204,
           what="delete the rule through compute replica 2")
    lst = expect(st.ctl(st.computes[0], "GET", "/faults"), 200, what="list rules on compute replica 1")
    ensure(rule_id not in lst.raw.decode("utf-8", "replace"),
           f"compute replica 1 still lists the rule deleted through replica 2: {lst.describe()}")


def check_one_clock_for_all_replicas(st, tenant):
    """clock/advance 3600 on compute replica 2 moves every replica and Identity, once."""
    before = expect(st.ctl(st.identity, "GET", "/clock"), 200, what="identity clock").json
    wall_before = time.time()
    r = expect(st.ctl(st.computes[1], "POST", "/clock/advance", {"seconds": 3600}), 200,
               what="clock/advance 3600 on compute replica 2")
    for peer in (r.json or {}).get("stack") or []:
        ensure(peer.get("status") == 200, f"clock/advance: a peer was not reached: {r.describe()}")
    bases = ([("identity", st.identity)]
             + [(f"compute replica {i + 1}", st.computes[i]) for i in st.alive_computes()]
             + [(f"lb replica {j + 1}", b) for j, b in enumerate(st.lbs)])
    clocks = {}
    for name, base in bases:
        c = expect(st.ctl(base, "GET", "/clock"), 200, what=f"clock of {name}").json
        clocks[name] = (parse_ts(c["now"]), time.time(), c)
    # Every `now`, brought to one wall instant, within a second of the others.
    t0 = min(w for _, w, _ in clocks.values())
    aligned = {name: now - (w - t0) if clocks[name][2].get("mode") == "running" else now
               for name, (now, w, _) in clocks.items()}
    spread = max(aligned.values()) - min(aligned.values())
    ensure(spread <= 1.0, f"the replicas' clocks differ by {spread:.3f} s: "
                          + ", ".join(f"{n}: {c[2]['now']} ({c[2].get('mode')})" for n, c in clocks.items()))
    # And moved by one hour, not two: the advance was applied once.
    moved = aligned["identity"] - parse_ts(before["now"]) - (t0 - wall_before)
    ensure(abs(moved - 3600) <= 2.0, f"identity's clock moved {moved:.1f} s for one advance of 3600 s "
                                     f"(before {before}, after {clocks['identity'][2]})")


def check_replica_killed_mid_load(st, tenant):
    """SIGKILL compute replica 3 halfway through a load: every acknowledged create survives."""
    why = st.can_kill_compute(2)
    ensure(why is None, why or "")
    s = st.authenticate(tenant)
    s.image_ref()
    total = 240
    killed = threading.Event()

    def create(i):
        rep = i % 2 if killed.is_set() else i % 3
        try:
            return rep, s.create_server(rep, f"kill-{i:03d}", timeout=30), None
        except CONNECTION_ERRORS as e:
            return rep, None, e

    results = []
    killed_at = None
    with concurrent.futures.ThreadPoolExecutor(max_workers=24) as pool:
        futures = [pool.submit(create, i) for i in range(total)]
        for f in concurrent.futures.as_completed(futures):
            results.append(f.result())
            if len(results) == total // 2:
                st.kill_compute(2)
                killed.set()
                st.dead_computes.add(2)
                killed_at = len(results)
    ensure(killed_at, "the kill never happened")
    acked = [(rep, r.json["server"]["id"]) for rep, r, _ in results if r is not None and r.status == 202]
    odd = [r for _, r, _ in results if r is not None and r.status != 202]
    errors = [(rep, e) for rep, r, e in results if r is None]
    ensure(not odd, f"{len(odd)} creates answered other than 202 ({count(r.status for r in odd)}); "
                    f"first: {odd[0].describe() if odd else ''}")
    ensure(all(rep == 2 for rep, _ in errors),
           f"a create through a live replica got no answer: {[(rep + 1, str(e)) for rep, e in errors if rep != 2][:3]}")
    by_replica = count(rep + 1 for rep, _ in acked)
    ensure(by_replica.get(3, 0) > 0, f"no create was acknowledged by replica 3 before the kill: {by_replica}")
    ensure(not port_open(int(st.computes[2].rsplit(":", 1)[1])), "compute replica 3 still accepts connections")
    # Every acknowledged server, whichever replica created it, reads back through replica 1.
    lost = []

    def read(item):
        rep, sid = item
        r = s.get(f"{s.nova(0)}/servers/{sid}")
        return rep, sid, r

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        for rep, sid, r in pool.map(read, acked):
            if r.status != 200 or r.json["server"]["id"] != sid:
                lost.append((rep + 1, sid, r.status))
    ensure(not lost, f"{len(lost)}/{len(acked)} acknowledged creates not readable through replica 1 "
                     f"(replica, id, status): {lost[:5]}")
    listed = {x["id"] for x in s.list_servers_detail(0)}
    missing = {sid for _, sid in acked} - listed
    ensure(not missing, f"replica 1's list lacks {len(missing)} acknowledged servers")
    print(f"  ({len(acked)} acknowledged: {by_replica} by replica; {len(errors)} without an answer "
          f"from replica 3; {len(listed)} listed)", flush=True)


# -- Redis outage --------------------------------------------------------------------------

def redis_stop(st):
    """SHUTDOWN NOSAVE, then the pid if it still answers; waits for the port to close."""
    try:
        with socket.create_connection(("127.0.0.1", st.redis_port), timeout=2) as sock:
            sock.settimeout(2)
            sock.sendall(b"*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n")
            try:
                sock.recv(64)
            except OSError:
                pass
    except OSError:
        pass
    deadline = time.monotonic() + 5
    while port_open(st.redis_port, 0.5) and time.monotonic() < deadline:
        time.sleep(0.05)
    if port_open(st.redis_port, 0.5) and st.redis_pid:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.kill(st.redis_pid, sig)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + 5
            while port_open(st.redis_port, 0.5) and time.monotonic() < deadline:
                time.sleep(0.05)
            if not port_open(st.redis_port, 0.5):
                break
    ensure(not port_open(st.redis_port, 0.5), f"redis on port {st.redis_port} would not stop")


def redis_start(st):
    """The same redis-server command again, on the same port; its pid goes to the pidfile."""
    log = open(st.redis_log, "ab") if st.redis_log else subprocess.DEVNULL
    try:
        proc = subprocess.Popen(st.redis_cmd, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT)
    finally:
        if log is not subprocess.DEVNULL:
            log.close()
    if st.redis_pidfile:
        with open(st.redis_pidfile, "w") as f:
            f.write(f"{proc.pid}\n")
    else:
        print(f"  (restarted redis-server, pid {proc.pid}, is left running)", flush=True)
    deadline = time.monotonic() + 10
    while not redis_ping(st.redis_port):
        if proc.poll() is not None:
            raise CheckFailed(f"the restarted redis-server exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise CheckFailed("the restarted redis-server does not answer PING after 10 s")
        time.sleep(0.05)


def poll(fetch, done, deadline, timeout):
    """Calls fetch(timeout) until done(response) or the deadline; returns (response, why)."""
    last, why = None, "never asked"
    while True:
        try:
            last = fetch(timeout)
            if done(last):
                return last, None
            why = f"last answer {last.describe()}"
        except CONNECTION_ERRORS as e:
            why = f"no answer within {timeout} s: {e}"
        if time.monotonic() > deadline:
            return last, why
        time.sleep(0.2)


def says_why_store(resp):
    """A 503 of /ready that names the store (or Redis) among what it waits for."""
    j = resp.json
    if not isinstance(j, dict) or j.get("ready") is not False:
        return False
    waiting = j.get("waiting_for")
    if not isinstance(waiting, list) or not waiting:
        return False
    text = json.dumps(waiting).lower()
    return "store" in text or "redis" in text


def check_redis_outage(st, tenant):
    """Redis stopped: 503s in each API's format and /ready says why; restarted: 200 again
    within 10 s, no mock restarted. Four named results."""
    names = ["redis_down_compute_503", "redis_down_lb_503", "redis_down_ready_503",
             "redis_back_within_10s"]
    if not st.redis_port or not st.redis_cmd:
        return [(n, "no --redis-port/--redis-cmd: cannot stop and restart Redis") for n in names]
    s = st.authenticate(tenant)
    computes = [(f"compute replica {i + 1}", s.nova(i) + "/servers") for i in st.alive_computes()]
    lbs = [(f"lb replica {j + 1}", s.clb(j) + "/loadbalancers") for j in range(len(st.lbs))]
    mocks = ([("identity", st.identity)]
             + [(f"compute replica {i + 1}", st.computes[i]) for i in st.alive_computes()]
             + [(f"lb replica {j + 1}", b) for j, b in enumerate(st.lbs)])
    for name, url in computes + lbs:
        expect(s.get(url), 200, what=f"{name} before the outage")
    out = []

    def sub(name, fn):
        try:
            fn()
        except CheckFailed as e:
            out.append((name, str(e)))
        except Exception as e:  # a crash of the check is a failure too, with where it happened
            where = traceback.extract_tb(e.__traceback__)[-1]
            out.append((name, f"{type(e).__name__}: {e} (line {where.lineno})"))
        else:
            out.append((name, None))

    redis_stop(st)
    stopped = time.monotonic()
    try:
        def apis_503(targets, shaped, shape_name):
            problems = []
            for name, url in targets:
                r, why = poll(lambda t: s.get(url, timeout=t), lambda r: r.status == 503,
                              stopped + 10, 5)
                if why:
                    problems.append(f"{name}: no 503 within 10 s of stopping Redis ({why})")
                elif not shaped(r.json, 503):
                    problems.append(f"{name}: the 503 is not {shape_name}: {r.describe()}")
                elif r.elapsed > 5:
                    problems.append(f"{name}: the 503 took {r.elapsed:.1f} s")
            ensure(not problems, "; ".join(problems))

        sub(names[0], lambda: apis_503(computes, nova_shaped, "Nova-shaped with code 503"))
        sub(names[1], lambda: apis_503(lbs, clb_shaped, "CLB-shaped with code 503"))

        def ready_503():
            problems = []
            for name, base in mocks:
                r, why = poll(lambda t: call("GET", base + CONTROL + "/ready", timeout=t),
                              lambda r: r.status == 503, stopped + 10, 5)
                if why:
                    problems.append(f"{name}: /ready not 503 within 10 s of stopping Redis ({why})")
                elif not says_why_store(r):
                    problems.append(f"{name}: /ready 503 does not say it waits for the store: "
                                    f"{r.describe()}")
            ensure(not problems, "; ".join(problems))

        sub(names[2], ready_503)
    finally:
        try:
            redis_start(st)
            restart_error = None
        except Exception as e:  # whatever happened, the checks below report it
            restart_error = f"restarting Redis: {type(e).__name__}: {e}"
    restarted = time.monotonic()

    def back():
        ensure(restart_error is None, restart_error or "")
        problems = []
        for name, url in computes + lbs:
            r, why = poll(lambda t: s.get(url, timeout=t), lambda r: r.status == 200, restarted + 10, 5)
            if why:
                problems.append(f"{name}: not 200 within 10 s of restarting Redis ({why})")
        for name, base in mocks:
            r, why = poll(lambda t: call("GET", base + CONTROL + "/ready", timeout=t),
                          lambda r: r.status == 200, restarted + 10, 5)
            if why:
                problems.append(f"{name}: /ready not 200 within 10 s of restarting Redis ({why})")
        ensure(not problems, "; ".join(problems))
        print(f"  (all answering 200 {time.monotonic() - restarted:.1f} s after the restart)", flush=True)

    sub(names[3], back)
    return out


CHECKS = [
    ("shared_server_lifecycle", check_shared_server_lifecycle),
    ("concurrent_creates_300", check_concurrent_creates_300),
    ("lb_node_limit_across_replicas", check_lb_node_limit_across_replicas),
    ("fault_budget_shared", check_fault_budget_shared),
    ("one_clock_for_all_replicas", check_one_clock_for_all_replicas),
    # These two change the stack for good: a replica dies, then Redis loses its data.
    ("replica_killed_mid_load", check_replica_killed_mid_load),
    ("redis_outage", check_redis_outage),
]
GROUPS = {"redis_outage": ["redis_down_compute_503", "redis_down_lb_503", "redis_down_ready_503",
                           "redis_back_within_10s"]}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--identity", required=True)
    p.add_argument("--compute", required=True, help="comma-separated URLs of the compute replicas (3)")
    p.add_argument("--lb", required=True, help="comma-separated URLs of the lb replicas (2)")
    p.add_argument("--compute-pids", default="", help="comma-separated pids of the compute replicas")
    p.add_argument("--lb-pids", default="", help="comma-separated pids of the lb replicas (unused)")
    p.add_argument("--redis-port", type=int, default=0)
    p.add_argument("--redis-pid", type=int, default=0)
    p.add_argument("--redis-cmd", default="", help="the redis-server command line, shell-quoted")
    p.add_argument("--redis-pidfile", default="", help="where to write the pid of the restarted Redis")
    p.add_argument("--redis-log", default="", help="log of the restarted Redis")
    p.add_argument("--lb-pending-update-ms", type=int, default=0,
                   help="lb.pending_update_time_ms the lb replicas run with")
    p.add_argument("--backend", default="redis", help="the store the mocks run with (for the output)")
    p.add_argument("--only", default="", help="comma-separated check names")
    args = p.parse_args(argv)
    st = Stack(args)
    if len(st.computes) < 3 or len(st.lbs) < 2:
        p.error("needs three compute and two lb replicas")
    known = {n for n, _ in CHECKS} | {n for sub in GROUPS.values() for n in sub}
    only = {x for x in args.only.split(",") if x}
    if only - known:
        p.error(f"unknown checks: {', '.join(sorted(only - known))}")
    return 1 if run_checks(st, CHECKS, GROUPS, only, "replicas") else 0


def run_checks(st, checks, groups, only, label):
    """Runs `checks` ((name, fn) pairs; `groups` names the sub-results of a check, `only`
    restricts), printing PASS/FAIL lines then `label: N passed, M failed`; returns M."""
    passed = failed = 0
    for name, fn in checks:
        subs = groups.get(name)
        if only and name not in only and not (subs and only & set(subs)):
            continue
        try:
            try:
                st.clean()
            except CheckFailed as e:
                raise CheckFailed(f"setup: {e}") from None
            result = fn(st, unique_tenant(name))
        except CheckFailed as e:
            result = [(n, str(e)) for n in subs] if subs else [(name, str(e))]
        except Exception as e:  # a crash of the check is a failure too, with where it happened
            where = traceback.extract_tb(e.__traceback__)[-1]
            detail = f"{type(e).__name__}: {e} (line {where.lineno})"
            result = [(n, detail) for n in subs] if subs else [(name, detail)]
        else:
            result = result if subs else [(name, None)]
        for n, error in result:
            if error is None:
                passed += 1
                print(f"PASS {n}", flush=True)
            else:
                failed += 1
                print(f"FAIL {n}: {error}", flush=True)
    print(f"{label}: {passed} passed, {failed} failed", flush=True)
    return failed


if __name__ == "__main__":
    sys.exit(main())
