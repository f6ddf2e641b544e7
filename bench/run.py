#!/usr/bin/env python3
"""Understudy benchmarks: every mock measured against a bare actix-web handler, in one run.

The server under test is pinned to core 0 with one worker; wrk is pinned to core 1.
Targets are ratios to the bare handler measured in the same run: each comparison
alternates the two (bare, mock, bare, mock, ...) for ROUNDS rounds and divides the
medians, so drift on a noisy machine moves both sides. Results are printed and appended
to bench/RESULTS.md.

    python3 bench/run.py            # everything (builds release binaries first)
    python3 bench/run.py identity   # one section: identity, faults, compute, lb, stack, redis
    python3 bench/run.py --before DIR identity compute lb
                                    # the sections' ratios to the bare handler for two
                                    # builds, the release binaries in DIR (an older build)
                                    # and this tree's, both up at once and measured in turn
                                    # (bare, before, after) each round: the change and the
                                    # noise (half the spread of the rounds' after/before)

`redis` compares Compute on the Redis backend with Compute in memory (not with the bare
handler): Redis runs on core 0 beside the mock, so the server side is the same core.
"""
import datetime
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release")
LUA = os.path.join(ROOT, "bench", "lua")
DURATION = int(os.environ.get("BENCH_SECONDS", "4"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
CONNS = 64
BARE = {}             # url of the bare handler, once started
results = []          # (section, metric, value, target, ok)
RATIOS = {}           # ("before" | "after", section, what) -> ratio to bare, with --before
procs = []


def say(msg):
    print(msg, flush=True)


def record(section, metric, value, target="", ok=None):
    results.append((section, metric, value, target, ok))
    mark = "" if ok is None else ("  ok" if ok else "  MISSED")
    say(f"    {metric}: {value} {('(target ' + target + ')') if target else ''}{mark}")


def http(method, url, body=None, token=None, timeout=30):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("X-Auth-Token", token)
    with urllib.request.urlopen(req, timeout=timeout) as res:
        raw = res.read()
        return res.status, (json.loads(raw) if raw else None)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(argv, env=None, ready_path="/_understudy/v1/health", port=None):
    """Starts a server on core 0; returns (proc, seconds from spawn to first good answer)."""
    full_env = dict(os.environ, RUST_LOG="warn", **(env or {}))
    t0 = time.perf_counter()
    p = subprocess.Popen(["taskset", "-c", "0"] + argv, env=full_env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(p)
    request = f"GET {ready_path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    while time.perf_counter() - t0 < 30:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(request)
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return p, time.perf_counter() - t0
        except OSError:
            pass
        time.sleep(0.0005)
    raise RuntimeError(f"{argv[0]} did not answer on port {port}")


def stop(p):
    p.terminate()
    try:
        p.wait(5)
    except subprocess.TimeoutExpired:
        p.kill()


def rss_mb(p):
    with open(f"/proc/{p.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def wrk(url, script=None, conns=CONNS, duration=DURATION, env=None):
    argv = ["taskset", "-c", "1", "wrk", "-t1", f"-c{conns}", f"-d{duration}s", "--latency"]
    if script:
        argv += ["-s", os.path.join(LUA, script)]
    out = subprocess.run(argv + [url], env=dict(os.environ, **(env or {})),
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    p99_ms = None
    if p99:
        v, unit = float(p99.group(1)), p99.group(2)
        p99_ms = v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
    return {"rps": rps, "total": total, "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "errors": errors.group(1) if errors else "", "p99_ms": p99_ms}


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def compare(url, script=None, conns=CONNS, env=None, ok_only=False):
    """Median req/s of the mock and of the bare handler, alternating; and the p99s."""
    mock, bare, p99 = [], [], []
    for _ in range(ROUNDS):
        b = wrk(BARE["url"], conns=conns)
        m = wrk(url, script, conns=conns, env=env)
        bare.append(b["rps"])
        good = m["rps"] * (1 - m["non2xx"] / max(m["total"], 1)) if ok_only else m["rps"]
        mock.append(good)
        p99.append(m["p99_ms"] or 0.0)
    return median(mock), median(bare), median(p99)


def record_ratio(section, what, url, target, script=None, conns=CONNS, env=None, ok_only=False, p99_target=None):
    mock, bare, p99 = compare(url, script, conns, env, ok_only)
    ratio = mock / bare
    record(section, f"{what} req/s (bare: {round(bare)})", round(mock))
    record(section, f"{what} ratio to bare", f"{ratio:.0%}", f">= {target:.0%}", ratio >= target)
    if p99_target is not None:
        record(section, f"{what} p99 ms ({conns} connections)", p99, f"< {p99_target}", p99 < p99_target)
    return mock


def mock_env(port, extra=None):
    env = {"UNDERSTUDY__SERVER__PORT": str(port), "UNDERSTUDY__SERVER__WORKERS": "1",
           "UNDERSTUDY__TELEMETRY__LEVEL": "warn"}
    env.update(extra or {})
    return env


def token_for(identity, tenant):
    _, body = http("POST", f"{identity}/v2.0/tokens",
                   {"auth": {"passwordCredentials": {"username": f"bench-{tenant}", "password": "x"},
                             "tenantId": tenant}})
    return body["access"]["token"]["id"]


BEFORE = [""]         # the older build's directory, with --before


def build():
    say("==> building release binaries")
    subprocess.run(["cargo", "build", "--release", "-p", "identity-mock", "-p", "compute-mock",
                    "-p", "lb-mock", "-p", "understudy"], cwd=ROOT, check=True)
    subprocess.run(["cargo", "build", "--release", "-p", "common", "--example", "bare_hello"],
                   cwd=ROOT, check=True)


def start_bare():
    say("==> bare actix-web handler (the yardstick, measured alternately with each mock)")
    port = free_port()
    start([os.path.join(BIN, "examples", "bare_hello"), str(port)], ready_path="/hello", port=port)
    BARE["url"] = f"http://127.0.0.1:{port}/hello"
    r = wrk(BARE["url"])
    record("bare", "GET /hello req/s", round(r["rps"]))
    record("bare", "GET /hello p99 ms", r["p99_ms"])


def bench_identity():
    say("==> identity-mock")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    p, startup = start([os.path.join(BIN, "identity-mock")], mock_env(port), port=port)
    record("identity", "start to first answer ms", round(startup * 1000, 1), "< 50", startup < 0.05)
    time.sleep(0.5)
    record("identity", "idle RSS MB", round(rss_mb(p), 1), "< 15", rss_mb(p) < 15)
    body_file = os.path.join("/tmp", "bench-token-body.json")
    with open(body_file, "w") as f:
        json.dump({"auth": {"passwordCredentials": {"username": "bench", "password": "x"},
                            "tenantId": "000001"}}, f)
    rps = record_ratio("identity", "POST /v2.0/tokens", f"{base}/v2.0/tokens", 0.3, "post_json.lua",
                       env={"BODY_FILE": body_file}, p99_target=5)
    record("identity", "POST /v2.0/tokens vs Mimic (43/s)", f"{rps / 43:.0f}x")
    token = token_for(base, "000001")
    record_ratio("identity", "GET /v2.0/tokens/{id}", f"{base}/v2.0/tokens/{token}", 0.5, "get_token.lua",
                 env={"TOKEN": token}, p99_target=5)
    stop(p)


def bench_faults():
    say("==> fault rules: 100 that do not match, on a plain route")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    p, _ = start([os.path.join(BIN, "identity-mock")], mock_env(port), port=port)
    plain = f"{base}/v2.0"
    methods = ["GET", "POST", "PUT", "DELETE"]

    def install():
        for i in range(100):
            rule = {"match": {"path": f"/nowhere/{i}/**", "method": methods[i % 4]},
                    "action": {"type": "error", "status": 500}}
            if i % 10 == 0:
                rule = {"match": {"tenant": f"nobody-{i}"}, "action": {"type": "drop"}}
            http("POST", f"{base}/_understudy/v1/faults", rule)

    without, with_rules = [], []
    for _ in range(ROUNDS):
        http("DELETE", f"{base}/_understudy/v1/faults")
        without.append(wrk(plain)["rps"])
        install()
        with_rules.append(wrk(plain)["rps"])
    before, after = median(without), median(with_rules)
    drop = 1 - after / before
    record("faults", "GET /v2.0 req/s, no rules (median)", round(before))
    record("faults", "GET /v2.0 req/s, 100 rules (median)", round(after))
    record("faults", "throughput drop with 100 rules", f"{drop:.1%}", "<= 10%", drop <= 0.10)
    stop(p)


def bench_compute():
    say("==> compute-mock")
    iport, cport = free_port(), free_port()
    identity = f"http://127.0.0.1:{iport}"
    compute = f"http://127.0.0.1:{cport}"
    ip, _ = start([os.path.join(BIN, "identity-mock")], mock_env(iport), port=iport)
    env = mock_env(cport, {"UNDERSTUDY__CATALOG__IDENTITY_URL": identity,
                           "UNDERSTUDY__COMPUTE__QUOTA__INSTANCES": "-1",
                           "UNDERSTUDY__COMPUTE__QUOTA__RAM_MB": "-1",
                           "UNDERSTUDY__COMPUTE__QUOTA__CORES": "-1"})
    p, _ = start([os.path.join(BIN, "compute-mock")], env, port=cport)
    t1 = "100001"
    tok1 = token_for(identity, t1)
    _, images = http("GET", f"{compute}/v2/{t1}/images", token=tok1)
    image = next(i["id"] for i in images["images"] if i["name"].startswith("Ubuntu"))
    _, created = http("POST", f"{compute}/v2/{t1}/servers",
                      {"server": {"name": "one", "imageRef": image, "flavorRef": "2"}}, token=tok1)
    sid = created["server"]["id"]
    record_ratio("compute", "GET one server", f"{compute}/v2/{t1}/servers/{sid}", 0.5, "get_token.lua",
                 env={"TOKEN": tok1})

    t2 = "100002"
    tok2 = token_for(identity, t2)
    for i in range(1000):
        http("POST", f"{compute}/v2/{t2}/servers",
             {"server": {"name": f"s{i}", "imageRef": image, "flavorRef": "2"}}, token=tok2)
    _, listed = http("GET", f"{compute}/v2/{t2}/servers/detail?limit=1000", token=tok2)
    assert len(listed["servers"]) == 1000, len(listed["servers"])
    r = wrk(f"{compute}/v2/{t2}/servers/detail?limit=1000", "get_token.lua", conns=8, env={"TOKEN": tok2})
    record("compute", "servers/detail (1,000 servers) req/s", round(r["rps"]), ">= 700 (50x Mimic's 14)", r["rps"] >= 700)

    say("    creating 100,000 servers in one tenant")
    t3 = "100003"
    tok3 = token_for(identity, t3)
    env = {"TOKEN": tok3, "IMAGE": image}
    # Each window is paired with a bare window just before it, so machine drift between
    # the first and the last window cancels out.
    bare_first = wrk(BARE["url"], duration=2)
    first = wrk(f"{compute}/v2/{t3}/servers", "create_servers.lua", duration=2, env=env)
    total = first["total"] - first["non2xx"]
    while total < 100_000:
        r = wrk(f"{compute}/v2/{t3}/servers", "create_servers.lua", duration=1, env=env)
        total += r["total"] - r["non2xx"]
    mb = rss_mb(p)
    record("compute", f"RSS with {total + 1001:,} servers MB", round(mb, 1), "< 150 (100,000 servers)", mb < 150)
    bare_last = wrk(BARE["url"], duration=2)
    last = wrk(f"{compute}/v2/{t3}/servers", "create_servers.lua", duration=2, env=env)
    slowdown = (first["rps"] / bare_first["rps"]) / (last["rps"] / bare_last["rps"])
    record("compute", "creates req/s, first window", round(first["rps"]))
    record("compute", f"creates req/s, after {total:,} servers", round(last["rps"]))
    record("compute", "create slowdown (first / last, each relative to bare)", f"{slowdown:.2f}x", "<= 1.2x", slowdown <= 1.2)
    stop(p)
    stop(ip)


def compare_pair(base_url, url, script, env, duration=DURATION):
    """Median req/s and p99 of two servers, alternating rounds (base first)."""
    base, other, base_p99, other_p99 = [], [], [], []
    for _ in range(ROUNDS):
        b = wrk(base_url, script, env=env, duration=duration)
        o = wrk(url, script, env=env, duration=duration)
        assert b["non2xx"] == 0 and o["non2xx"] == 0, (b, o)
        base.append(b["rps"])
        other.append(o["rps"])
        base_p99.append(b["p99_ms"] or 0.0)
        other_p99.append(o["p99_ms"] or 0.0)
    return median(base), median(other), median(base_p99), median(other_p99)


def bench_redis():
    say("==> compute-mock on Redis against compute-mock in memory")
    rport, iport, mport, cport = free_port(), free_port(), free_port(), free_port()
    server = shutil.which("redis-server")
    if not server:
        subprocess.run(["apt-get", "install", "-y", "-qq", "redis-server"], check=True)
        server = shutil.which("redis-server")
    redis = subprocess.Popen(["taskset", "-c", "0", server, "--port", str(rport), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    procs.append(redis)
    for _ in range(50):
        try:
            socket.create_connection(("127.0.0.1", rport), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    identity = f"http://127.0.0.1:{iport}"
    ip, _ = start([os.path.join(BIN, "identity-mock")], mock_env(iport), port=iport)
    urls = {}
    for name, port, extra in [
        ("memory", mport, {}),
        ("redis", cport, {"UNDERSTUDY__STORE__BACKEND": "redis",
                          "UNDERSTUDY__STORE__URL": f"redis://127.0.0.1:{rport}/0",
                          "UNDERSTUDY__STORE__NAMESPACE": "bench"}),
    ]:
        start([os.path.join(BIN, "compute-mock")],
              mock_env(port, dict(extra, UNDERSTUDY__CATALOG__IDENTITY_URL=identity)), port=port)
        urls[name] = f"http://127.0.0.1:{port}"
    t = "100001"
    tok = token_for(identity, t)
    _, images = http("GET", f"{urls['memory']}/v2/{t}/images", token=tok)
    image = next(i["id"] for i in images["images"] if i["name"].startswith("Ubuntu"))
    sid = {}
    for name, url in urls.items():
        _, created = http("POST", f"{url}/v2/{t}/servers",
                          {"server": {"name": "one", "imageRef": image, "flavorRef": "2"}}, token=tok)
        sid[name] = created["server"]["id"]
    mem, red, mem_p99, red_p99 = compare_pair(
        f"{urls['memory']}/v2/{t}/servers/{sid['memory']}",
        f"{urls['redis']}/v2/{t}/servers/{sid['redis']}", "get_token.lua", {"TOKEN": tok})
    ratio = red / mem
    record("redis", f"GET one server req/s: memory {round(mem)}, Redis", round(red))
    record("redis", "GET one server, Redis / memory", f"{ratio:.0%}", ">= 25%", ratio >= 0.25)
    record("redis", f"GET one server p99 ms: memory {mem_p99:.2f}, Redis", round(red_p99, 2))
    mem, red, mem_p99, red_p99 = compare_pair(
        f"{urls['memory']}/v2/{t}/servers", f"{urls['redis']}/v2/{t}/servers",
        "create_servers.lua", {"TOKEN": tok, "IMAGE": image}, duration=2)
    record("redis", f"create server req/s: memory {round(mem)}, Redis", round(red))
    record("redis", "create server, Redis / memory", f"{red / mem:.0%}")
    record("redis", f"create server p99 ms: memory {mem_p99:.2f}, Redis", round(red_p99, 2))


def bench_lb():
    say("==> lb-mock")
    iport, lport = free_port(), free_port()
    identity = f"http://127.0.0.1:{iport}"
    lb = f"http://127.0.0.1:{lport}"
    ip, _ = start([os.path.join(BIN, "identity-mock")], mock_env(iport), port=iport)
    env = mock_env(lport, {"UNDERSTUDY__CATALOG__IDENTITY_URL": identity,
                           "UNDERSTUDY__LB__LOADBALANCER_LIMIT": "100000"})
    p, _ = start([os.path.join(BIN, "lb-mock")], env, port=lport)
    t1 = "200001"
    tok1 = token_for(identity, t1)
    nodes = [{"address": f"10.3.0.{i}", "port": 80, "condition": "ENABLED"} for i in range(1, 26)]
    _, created = http("POST", f"{lb}/v1.0/{t1}/loadbalancers",
                      {"loadBalancer": {"name": "bench", "port": 80, "protocol": "HTTP",
                                        "virtualIps": [{"type": "PUBLIC"}], "nodes": nodes}}, token=tok1)
    lb_id = created["loadBalancer"]["id"]
    record_ratio("lb", "GET one balancer (25 nodes)", f"{lb}/v1.0/{t1}/loadbalancers/{lb_id}", 0.4,
                 "get_token.lua", env={"TOKEN": tok1})

    _, created = http("POST", f"{lb}/v1.0/{t1}/loadbalancers",
                      {"loadBalancer": {"name": "cycle", "port": 80, "protocol": "HTTP",
                                        "virtualIps": [{"type": "PUBLIC"}]}}, token=tok1)
    cycle_id = created["loadBalancer"]["id"]
    record_ratio("lb", "add + delete node (2xx, 8 connections)", f"{lb}/v1.0/{t1}/loadbalancers/{cycle_id}/nodes",
                 0.2, "node_cycle.lua", conns=8, env={"TOKEN": tok1}, ok_only=True)

    say("    creating 10,000 balancers of 25 nodes")
    base = rss_mb(p)
    t2 = "200002"
    tok2 = token_for(identity, t2)
    total = 0
    while total < 10_000:
        r = wrk(f"{lb}/v1.0/{t2}/loadbalancers", "create_lbs.lua", conns=8, duration=2, env={"TOKEN": tok2})
        total += r["total"] - r["non2xx"]
        if r["total"] - r["non2xx"] == 0:
            raise RuntimeError("load balancer creates are refused; is lb.loadbalancer_limit high enough?")
    mb = rss_mb(p)
    record("lb", f"RSS with {total:,} balancers x 25 nodes MB", round(mb, 1))
    # wrk's whole seconds overshoot 10,000 on a fast machine: what the balancers added,
    # scaled to 10,000, on top of what the mock held before.
    at_10k = base + (mb - base) * 10_000 / total
    record("lb", "RSS scaled to 10,000 balancers x 25 nodes MB", round(at_10k, 1), "< 200", at_10k < 200)
    stop(p)
    stop(ip)


def bench_stack():
    say("==> understudy launcher (the three mocks in one process)")
    ports = [free_port() for _ in range(3)]
    argv = [os.path.join(BIN, "understudy"), "--identity-port", str(ports[0]),
            "--compute-port", str(ports[1]), "--lb-port", str(ports[2])]
    p, startup = start(argv, {"UNDERSTUDY__SERVER__WORKERS": "1"}, port=ports[2])
    record("stack", "launcher start to first answer ms (last mock bound)", round(startup * 1000, 1), "< 50", startup < 0.05)
    time.sleep(0.5)
    record("stack", "launcher idle RSS MB", round(rss_mb(p), 1))
    stop(p)


def build_name(bin_dir):
    """The commit a release directory was built from (its checkout's HEAD), else its path."""
    checkout = os.path.dirname(os.path.dirname(os.path.abspath(bin_dir)))
    head = subprocess.run(["git", "-C", checkout, "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True)
    return head.stdout.strip() or bin_dir


def start_beside(bins, mock, identity):
    """Starts `mock` from `bins`, trusting `identity`; its base URL."""
    port = free_port()
    start([os.path.join(bins, mock)], mock_env(port, {"UNDERSTUDY__CATALOG__IDENTITY_URL": identity}), port=port)
    return f"http://127.0.0.1:{port}"


def ab_targets(bins, wanted):
    """One build's mocks (from `bins`) started with their fixtures, for `--before`: every
    ratio the sections measure against the bare handler, as (section, what, url, script,
    conns, env, ok_only)."""
    targets = []
    iport = free_port()
    identity = f"http://127.0.0.1:{iport}"
    start([os.path.join(bins, "identity-mock")], mock_env(iport), port=iport)
    if "identity" in wanted:
        body_file = os.path.join("/tmp", "bench-token-body.json")
        with open(body_file, "w") as f:
            json.dump({"auth": {"passwordCredentials": {"username": "bench", "password": "x"},
                                "tenantId": "000001"}}, f)
        token = token_for(identity, "000001")
        targets += [("identity", "POST /v2.0/tokens", f"{identity}/v2.0/tokens", "post_json.lua", CONNS,
                     {"BODY_FILE": body_file}, False),
                    ("identity", "GET /v2.0/tokens/{id}", f"{identity}/v2.0/tokens/{token}", "get_token.lua",
                     CONNS, {"TOKEN": token}, False)]
    if "compute" in wanted:
        compute = start_beside(bins, "compute-mock", identity)
        tok = token_for(identity, "100001")
        _, images = http("GET", f"{compute}/v2/100001/images", token=tok)
        image = next(i["id"] for i in images["images"] if i["name"].startswith("Ubuntu"))
        _, created = http("POST", f"{compute}/v2/100001/servers",
                          {"server": {"name": "one", "imageRef": image, "flavorRef": "2"}}, token=tok)
        targets.append(("compute", "GET one server", f"{compute}/v2/100001/servers/{created['server']['id']}",
                        "get_token.lua", CONNS, {"TOKEN": tok}, False))
    if "lb" in wanted:
        lb = start_beside(bins, "lb-mock", identity)
        tok = token_for(identity, "200001")
        nodes = [{"address": f"10.3.0.{i}", "port": 80, "condition": "ENABLED"} for i in range(1, 26)]
        ids = []
        for name, members in [("bench", nodes), ("cycle", [])]:
            body = {"name": name, "port": 80, "protocol": "HTTP", "virtualIps": [{"type": "PUBLIC"}]}
            if members:
                body["nodes"] = members
            _, created = http("POST", f"{lb}/v1.0/200001/loadbalancers", {"loadBalancer": body}, token=tok)
            ids.append(created["loadBalancer"]["id"])
        targets += [("lb", "GET one balancer (25 nodes)", f"{lb}/v1.0/200001/loadbalancers/{ids[0]}",
                     "get_token.lua", CONNS, {"TOKEN": tok}, False),
                    ("lb", "add + delete node (2xx, 8 connections)",
                     f"{lb}/v1.0/200001/loadbalancers/{ids[1]}/nodes", "node_cycle.lua", 8, {"TOKEN": tok}, True)]
    return targets


def compare_builds(wanted):
    """`--before DIR`: both builds' mocks up at once, and each ratio measured bare, before,
    after in turn (the order rotating) for ROUNDS rounds, so the machine's drift moves all
    three; the change is the median of the rounds' after/before, the noise half their
    spread."""
    say(f"==> before ({build_name(BEFORE[0])}) and after ({build_name(BIN)}), interleaved")
    sides = {"before": ab_targets(BEFORE[0], wanted), "after": ab_targets(BIN, wanted)}
    for i, (section, what, _, script, conns, _, ok_only) in enumerate(sides["after"]):
        rps = {"bare": [], "before": [], "after": []}
        for r in range(ROUNDS):
            order = ["bare", "before", "after"]
            order = order[r % 3:] + order[:r % 3]
            for who in order:
                if who == "bare":
                    m = wrk(BARE["url"], conns=conns)
                    rps["bare"].append(m["rps"])
                    continue
                _, _, url, _, _, env, _ = sides[who][i]
                m = wrk(url, script, conns=conns, env=env)
                good = m["rps"] * (1 - m["non2xx"] / max(m["total"], 1)) if ok_only else m["rps"]
                rps[who].append(good)
        changes = [a / b for a, b in zip(rps["after"], rps["before"]) if b]
        change = median(changes) - 1
        noise = (max(changes) - min(changes)) / 2 / median(changes)
        for who in ("before", "after"):
            ratio = median([m / b for m, b in zip(rps[who], rps["bare"]) if b])
            RATIOS[(who, section, what)] = ratio
            record(f"{section} ({who})", f"{what} req/s (bare: {round(median(rps['bare']))})", round(median(rps[who])))
            record(f"{section} ({who})", f"{what} ratio to bare", f"{ratio:.0%}")
        CHANGES[(section, what)] = (change, noise)
        say(f"    {section} {what}: after/before {change:+.1%} (noise ±{noise:.1%})")


CHANGES = {}          # (section, what) -> (median of the rounds' after/before - 1, half their spread)


def write_results():
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    lines = [f"\n## Run of {stamp}\n", f"Machine: {os.cpu_count()} cores, {cpu}. "
             f"Server on core 0 (one worker), wrk on core 1, {CONNS} connections unless said, {DURATION} s per "
             f"measurement, ratios = median of {ROUNDS} alternating rounds against the bare handler.\n",
             "| section | metric | value | target | met |", "|---|---|---|---|---|"]
    for section, metric, value, target, ok in results:
        met = "" if ok is None else ("yes" if ok else "**no**")
        lines.append(f"| {section} | {metric} | {value} | {target} | {met} |")
    if BEFORE[0]:
        lines += ["", f"Before ({build_name(BEFORE[0])}) and after ({build_name(BIN)}), interleaved in this "
                  f"run: both builds up at once, each ratio measured bare, before, after in turn for {ROUNDS} "
                  "rounds; the change is the median of the rounds' after/before, the noise half their "
                  "spread; a change within the noise is no change.", "",
                  "| section | ratio | before | after | change | noise | worse beyond noise |",
                  "|---|---|---|---|---|---|---|"]
        for (section, what), (change, noise) in CHANGES.items():
            before, after = RATIOS[("before", section, what)], RATIOS[("after", section, what)]
            worse = "**yes**" if change < -noise else "no"
            lines.append(f"| {section} | {what} | {before:.0%} | {after:.0%} | {change:+.1%} | "
                         f"±{noise:.1%} | {worse} |")
    path = os.path.join(ROOT, "bench", "RESULTS.md")
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write("# Benchmark results\n\nProduced by `python3 bench/run.py`; newest run last.\n")
    with open(path, "a") as f:
        f.write("\n".join(lines) + "\n")
    say(f"==> appended to {path}")


def main():
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    args = sys.argv[1:]
    if args[:1] == ["--before"]:
        if len(args) < 2 or not os.path.isfile(os.path.join(args[1], "identity-mock")):
            sys.exit("--before DIR: DIR must hold release binaries (identity-mock, compute-mock, ...)")
        BEFORE[0] = os.path.abspath(args[1])
        args = args[2:]
    wanted = set(args) or {"identity", "faults", "compute", "lb", "stack", "redis"}
    if os.environ.get("BENCH_NO_BUILD") != "1":
        build()
    try:
        start_bare()
        if BEFORE[0]:
            compare_builds(wanted)
        else:
            for name, fn in [("identity", bench_identity), ("faults", bench_faults),
                             ("compute", bench_compute), ("lb", bench_lb), ("stack", bench_stack),
                             ("redis", bench_redis)]:
                if name in wanted:
                    fn()
    finally:
        for p in procs:
            if p.poll() is None:
                stop(p)
    write_results()


if __name__ == "__main__":
    main()
