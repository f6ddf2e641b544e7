#!/usr/bin/env python3
"""An autoscaler's day, timed: the compiled driver (bench/driver, `understudy-driver`)
against three topologies of the stack, for N = 1,000 and N = 10,000 servers.

Topologies (release binaries from target/release, every process on free loopback ports):
  memory          the launcher `understudy`: the three mocks in one process, in memory
  redis           identity-mock + compute-mock + lb-mock on the Redis backend (one
                  redis-server this script starts: no persistence)
  redis-3compute  identity-mock + three compute-mock replicas + lb-mock on Redis; the
                  driver spreads Compute calls over the replicas (--compute-urls)

For each topology and N the driver runs SCENARIO_REPEATS times (5; after a warm-up day of
100 servers that is not reported; the configurations interleaved, each row the run with the
median total, the 10x goal judged on the median of each repeat's own N = 10,000 / N = 1,000
ratio), in each balancer-wait mode (`read`: the balancer is read until ACTIVE after every
node change, as the scenario asks; `retry`: it is not read, a 422 on the next change would
make the driver wait, as Otter does). The driver is given the stack's pids and
reports its own CPU time and theirs. When the memory topology runs and wrk is installed,
wrk then measures a load generator's floor: its CPU per request, and the stack's, on a
server created and a server read; and the memory day runs again with the stack on one core
and the driver on another ("cores apart"): a stack whose core stays busy through the day
never waited for the driver, so the figure is the stack's. A run during which the
hypervisor took more than 5% of the machine's CPU time (steal, /proc/stat;
SCENARIO_STEAL_LIMIT) is set aside and run again in its place, at most twice the repeats
per topology (SCENARIO_STEAL_RERUNS); what was set aside is reported. A section is
appended to bench/RESULTS.md.

    python3 bench/scenario.py                   # everything
    SCENARIO_N=1000 SCENARIO_TOPOLOGIES=memory SCENARIO_LB_WAIT=read python3 bench/scenario.py
    SCENARIO_NO_RESULTS=1 ...                   # print only
    SCENARIO_REPEATS=1 ...                      # one run per configuration

Nothing is built: build the mocks (`cargo build --release -p understudy -p identity-mock
-p compute-mock -p lb-mock`) and the driver (`cargo build --release -p understudy-driver`)
first.
"""
import datetime
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release")
DRIVER = os.path.join(BIN, "understudy-driver")
NS = [int(n) for n in os.environ.get("SCENARIO_N", "1000,10000").split(",")]
TOPOLOGIES = os.environ.get("SCENARIO_TOPOLOGIES", "memory,redis,redis-3compute").split(",")
LB_WAITS = os.environ.get("SCENARIO_LB_WAIT", "read,retry").split(",")
CONCURRENCY = int(os.environ.get("SCENARIO_CONCURRENCY", "64"))
WARMUP_N = int(os.environ.get("SCENARIO_WARMUP_N", "100"))
REPEATS = max(1, int(os.environ.get("SCENARIO_REPEATS", "5")))
# Cores apart (see cores_apart): the stack's core busy at least this much of the day (and
# more than the driver's) for the figure to be the stack's.
APART_STACK_BUSY = 0.9
# A run during which the hypervisor took more than this share of the machine's CPU time
# (steal, /proc/stat) measured the neighbours, not the stack: it is set aside and run
# again in its place, at most SCENARIO_STEAL_RERUNS times per topology (then it is kept,
# and shown).
STEAL_LIMIT = float(os.environ.get("SCENARIO_STEAL_LIMIT", "0.05"))
STEAL_RERUNS = int(os.environ.get("SCENARIO_STEAL_RERUNS", str(2 * REPEATS)))
CLOCK_TICK = os.sysconf("SC_CLK_TCK")
PHASES = ["auth", "balancers", "create servers", "tick", "list", "add nodes", "fault + retry",
          "remove nodes", "delete servers", "delete balancers"]

urllib.request.install_opener(urllib.request.build_opener(urllib.request.ProxyHandler({})))


def say(msg):
    print(msg, flush=True)


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class Stack:
    """The processes of one topology; stops them, whatever happens."""

    def __init__(self, name):
        self.name = name
        self.procs = []       # (label, Popen)
        self.work = tempfile.mkdtemp(prefix=f"understudy-scenario-{name}-")
        self.identity = None
        self.compute_urls = []

    def spawn(self, label, argv, env=None, cpus=None):
        log = open(os.path.join(self.work, f"{label}.log"), "w")
        full = dict(os.environ, RUST_LOG="warn", UNDERSTUDY__TELEMETRY__LEVEL="warn", **(env or {}))
        p = subprocess.Popen(argv, env=full, stdout=log, stderr=subprocess.STDOUT,
                             preexec_fn=pinned_to(cpus))
        self.procs.append((label, p))
        return p

    def pids(self):
        return [p.pid for _, p in self.procs]

    def wait_ready(self, urls, timeout=30):
        deadline = time.monotonic() + timeout
        for url in urls:
            while True:
                for label, p in self.procs:
                    if p.poll() is not None:
                        raise RuntimeError(f"{label} exited at start; see {self.work}/{label}.log")
                try:
                    with urllib.request.urlopen(url + "/_understudy/v1/ready", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{url} not ready after {timeout} s")
                time.sleep(0.05)

    def stop(self):
        for _, p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for _, p in reversed(self.procs):
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(self.work, ignore_errors=True)


def start_redis(stack, port):
    server = shutil.which("redis-server") or "/usr/bin/redis-server"
    stack.spawn("redis", [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no", "--daemonize", "no", "--dir", stack.work])
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(64).startswith(b"+PONG"):
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("redis-server does not answer PING")
        time.sleep(0.05)


def pinned_to(cpus):
    """A child's start that keeps it (and every thread it makes) on `cpus`; None: anywhere."""
    if not cpus:
        return None
    return lambda: os.sched_setaffinity(0, cpus)


def start_memory(cpus=None):
    stack = Stack("memory")
    i, c, l = free_ports(3)
    stack.spawn("understudy", [os.path.join(BIN, "understudy"), "--identity-port", str(i),
                               "--compute-port", str(c), "--lb-port", str(l)], cpus=cpus)
    stack.identity = f"http://127.0.0.1:{i}"
    stack.wait_ready([stack.identity, f"http://127.0.0.1:{c}", f"http://127.0.0.1:{l}"])
    return stack


def steal_seconds():
    """The CPU time the hypervisor has taken from this machine so far (every CPU's)."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
        return int(fields[8]) / CLOCK_TICK
    except (OSError, ValueError, IndexError):
        return 0.0


def on_cpu_seconds(pid):
    """A live process's CPU time so far: its threads' schedstat, in nanoseconds."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total / 1e9


def call(method, url, body=None, token=None):
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body else None)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("X-Auth-Token", token)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def floor():
    """A load generator's floor on this machine: wrk (C, one thread, 64 connections, as the
    driver) against a fresh in-memory stack, on the two requests an autoscaler's day is made
    of most (a server created, a server read), with wrk's CPU time per request and the
    stack's. None when wrk is not installed."""
    wrk = shutil.which("wrk")
    if not wrk:
        return None
    stack = start_memory()
    try:
        auth = call("POST", stack.identity + "/identity/v2.0/tokens",
                    {"auth": {"passwordCredentials": {"username": "floor", "password": "p"}}})["access"]
        token = auth["token"]["id"]
        compute = next(e["endpoints"][0]["publicURL"] for e in auth["serviceCatalog"]
                       if e["type"] == "compute")
        image = call("GET", compute + "/images", token=token)["images"][0]["id"]
        server = {"server": {"name": "floor", "imageRef": image, "flavorRef": "2",
                             "metadata": {"server_building": "30"}}}
        sid = call("POST", compute + "/servers", server, token)["server"]["id"]
        script = os.path.join(stack.work, "create.lua")
        with open(script, "w") as f:
            f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                    f"wrk.body = {json.dumps(json.dumps(server))}\n")
        rows = []
        for label, extra, url, seconds in [("POST servers (create)", ["-s", script], compute + "/servers", 2),
                                           ("GET servers/{id}", [], f"{compute}/servers/{sid}", 3)]:
            before = [on_cpu_seconds(p) for p in stack.pids()]
            # The stack's processes are not reaped before it stops: the children's rusage
            # moves by wrk's alone.
            reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
            res = subprocess.run([wrk, "-t1", "-c64", f"-d{seconds}s", "-H", f"X-Auth-Token: {token}",
                                  *extra, url], capture_output=True, text=True, timeout=60)
            usage = resource.getrusage(resource.RUSAGE_CHILDREN)
            stack_cpu = sum(on_cpu_seconds(q) for q in stack.pids()) - sum(before)
            out = res.stdout + res.stderr
            done = next((int(l.split()[0]) for l in out.splitlines() if "requests in" in l), 0)
            if res.returncode != 0 or not done or "Non-2xx" in out:
                raise RuntimeError(f"wrk {label}: {out.strip()}")
            wrk_cpu = (usage.ru_utime - reaped.ru_utime) + (usage.ru_stime - reaped.ru_stime)
            rows.append({"request": label, "requests": done, "wrk_us": wrk_cpu / done * 1e6,
                         "stack_us": stack_cpu / done * 1e6, "share": wrk_cpu / stack_cpu})
            say(f"    floor: {label}: {done} requests, wrk {rows[-1]['wrk_us']:.1f} us/request, "
                f"stack {rows[-1]['stack_us']:.1f} us/request, wrk/stack {rows[-1]['share']:.0%}")
        return rows
    finally:
        stack.stop()


def cores_apart(quiet):
    """The memory day again, the stack on one core and the driver on another, so neither
    takes the other's cycles. A stack whose core is busy through the whole day never waited
    for the driver: the day's time is then the stack's own. Returns the median rows (as the
    main runs); None on a machine with fewer than two cores."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    stack_cpus, driver_cpus = {cpus[0]}, {cpus[1]}
    stack = start_memory(stack_cpus)
    rows = []
    try:
        drive(stack, WARMUP_N, "read", driver_cpus)
        runs = {}
        for _ in range(REPEATS):
            for n in NS:
                for wait in LB_WAITS:
                    s = quiet.run(stack, n, wait, driver_cpus)
                    busy = apart_busy(s) or {"stack": 0.0, "driver": 0.0}
                    say(f"    cores apart: N={n:<6} lb-wait={wait:<5} total {s['total']:.3f} s, stack's core "
                        f"busy {busy['stack']:.0%}, driver's {busy['driver']:.0%}")
                    runs.setdefault((n, wait), []).append(s)
        for each in runs.values():
            rows.append(median_run(each))
    finally:
        stack.stop()
    return rows


def apart_busy(s):
    """How busy each core was in a cores-apart day: CPU time over the day's time, the
    `fault + retry` phase's time left out (the driver sits out a retry back-off there on
    purpose, and the stack has nothing to do; the CPU of its few requests stays in)."""
    day = s["total"] - s["phases"].get("fault + retry", 0)
    if day <= 0:
        return None
    return {"stack": s["mock_cpu"] / day, "driver": s["driver_cpu"] / day}


def start_redis_stack(name, computes):
    stack = Stack(name)
    rport, iport, lport, *cports = free_ports(3 + computes)
    start_redis(stack, rport)
    store = {"UNDERSTUDY__STORE__BACKEND": "redis",
             "UNDERSTUDY__STORE__URL": f"redis://127.0.0.1:{rport}/0",
             "UNDERSTUDY__STORE__NAMESPACE": f"scenario-{name}"}
    identity = f"http://127.0.0.1:{iport}"
    # Identity's own catalog with the default ports moved (as e2e/replicas/run.sh does):
    # Compute is the first replica, Load Balancers the one lb-mock.
    with open(os.path.join(ROOT, "identity-mock", "src", "defaults.toml")) as f:
        toml = (f.read().replace(":5000/", f":{iport}/").replace(":8774/", f":{cports[0]}/")
                .replace(":9876/", f":{lport}/"))
    config = os.path.join(stack.work, "identity.toml")
    with open(config, "w") as f:
        f.write(toml)
    common = dict(store, UNDERSTUDY__SERVER__HOST="127.0.0.1", UNDERSTUDY__CATALOG__IDENTITY_URL=identity)
    stack.spawn("identity", [os.path.join(BIN, "identity-mock"), "--config", config],
                dict(common, UNDERSTUDY__SERVER__PORT=str(iport)))
    for n, port in enumerate(cports, 1):
        stack.spawn(f"compute-{n}", [os.path.join(BIN, "compute-mock")],
                    dict(common, UNDERSTUDY__SERVER__PORT=str(port)))
    stack.spawn("lb", [os.path.join(BIN, "lb-mock")], dict(common, UNDERSTUDY__SERVER__PORT=str(lport)))
    stack.identity = identity
    stack.compute_urls = [f"http://127.0.0.1:{p}" for p in cports]
    stack.wait_ready([identity, *stack.compute_urls, f"http://127.0.0.1:{lport}"])
    return stack


STARTERS = {
    "memory": start_memory,
    "redis": lambda: start_redis_stack("redis", 1),
    "redis-3compute": lambda: start_redis_stack("redis-3compute", 3),
}

DESCRIBED = {
    "memory": "launcher, in memory (1 process)",
    "redis": "identity + compute + lb on Redis (3 processes + redis-server)",
    "redis-3compute": "identity + 3 compute replicas + lb on Redis (5 processes + redis-server)",
}

tenant_counter = [0]


def drive(stack, n, lb_wait, cpus=None):
    tenant_counter[0] += 1
    tenant = f"9{os.getpid() % 10000:04d}{tenant_counter[0]:03d}"
    argv = [DRIVER, "--identity", stack.identity, "--n", str(n), "--concurrency", str(CONCURRENCY),
            "--tenant", tenant, "--lb-wait", lb_wait, "--pids", ",".join(map(str, stack.pids())), "--json"]
    if len(stack.compute_urls) > 1:
        argv += ["--compute-urls", ",".join(stack.compute_urls)]
    stolen = steal_seconds()
    res = subprocess.run(argv, capture_output=True, text=True, timeout=1800, preexec_fn=pinned_to(cpus))
    stolen = steal_seconds() - stolen
    if res.returncode != 0:
        raise RuntimeError(f"driver failed ({res.returncode}): {res.stderr.strip()}")
    out = json.loads(res.stdout)
    out["steal_seconds"] = stolen
    return out


class Quiet:
    """Runs of one topology, each run again in its place (at most STEAL_RERUNS times in
    all) while the hypervisor took more than STEAL_LIMIT of the machine during it; the
    runs set aside are remembered, to be reported."""

    def __init__(self, topology):
        self.topology = topology
        self.left = STEAL_RERUNS
        self.set_aside = []

    def run(self, stack, n, wait, cpus=None):
        while True:
            s = summary(self.topology, n, wait, drive(stack, n, wait, cpus))
            if s["steal_share"] <= STEAL_LIMIT or self.left <= 0:
                return s
            self.left -= 1
            self.set_aside.append(s)
            say(f"    set aside: N={n} lb-wait={wait} total {s['total']:.3f} s, the hypervisor "
                f"took {s['steal_share']:.0%} of the machine; run again")


def summary(topology, n, lb_wait, r):
    phases = {p["name"]: p["seconds"] for p in r["phases"]}
    mocks = sum(p["cpu_seconds"] or 0 for p in r["stack"] if p["name"] != "redis-server")
    redis = sum(p["cpu_seconds"] or 0 for p in r["stack"] if p["name"] == "redis-server")
    # User and system time apart (/proc/PID/stat, 10 ms ticks), the stack's with Redis;
    # None when a process could not be read (no split is shown then).
    def split(v):
        return (v["user"], v["system"]) if v else None
    parts = [split(p.get("user_system_seconds")) for p in r["stack"]]
    stack_split = (None if None in parts or not parts
                   else (sum(u for u, _ in parts), sum(s for _, s in parts)))
    stolen = r.get("steal_seconds", 0.0)
    capacity = r["total_seconds"] * (os.cpu_count() or 1)
    return {"topology": topology, "n": n, "lb_wait": lb_wait, "total": r["total_seconds"],
            "steal_share": stolen / capacity if capacity > 0 else 0.0,
            "phases": phases, "requests": r["requests"], "rps": r["requests_per_second"],
            "driver_cpu": r["driver_cpu_seconds"], "mock_cpu": mocks, "redis_cpu": redis,
            "driver_split": split(r.get("driver_user_system_seconds")),
            "stack_split": stack_split,
            "fault_ok": r["fault"]["retry_succeeded"], "tick": r["tick_endpoint"],
            "answers": r["answers"]}


def median_run(runs):
    """The run with the median total, with the totals' range over every run and the totals
    in the order they ran (repeat by repeat, for the paired ratios)."""
    ordered = [r["total"] for r in runs]
    steals = [r["steal_share"] for r in runs]
    runs = sorted(runs, key=lambda r: r["total"])
    row = dict(runs[len(runs) // 2])
    row["runs"] = len(runs)
    row["range"] = (runs[0]["total"], runs[-1]["total"])
    row["totals"] = ordered
    row["steals"] = steals
    row["steal_most"] = max(r["steal_share"] for r in runs)
    return row


def percent(part, whole):
    """`part / whole` as a percentage, or `-` when `whole` is nothing."""
    return f"{part / whole:.0%}" if whole else "-"


def median(xs):
    xs = sorted(xs)
    mid = len(xs) // 2
    return xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2


def show(s):
    say(f"    {s['topology']:<15} N={s['n']:<6} lb-wait={s['lb_wait']:<5} total {s['total']:.3f} s, "
        f"{s['requests']} requests, {s['rps']:.0f}/s, driver CPU {s['driver_cpu']:.3f} s, "
        f"mock CPU {s['mock_cpu']:.3f} s, redis CPU {s['redis_cpu']:.3f} s, "
        f"steal {s['steal_share']:.0%}")
    say("      " + ", ".join(f"{k} {v:.3f}" for k, v in s["phases"].items()))


def mtime(path):
    return datetime.datetime.fromtimestamp(os.path.getmtime(path), datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def write_results(rows, floors, cores, quiet):
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                          text=True).stdout.strip()
    ticks = sorted({r["tick"] for r in rows})
    lines = [
        f"\n## Scenario driver: an autoscaler's day, run of {stamp}\n",
        f"`python3 bench/scenario.py` (driver: `bench/driver`, `understudy-driver`). Machine: "
        f"{os.cpu_count()} cores, {cpu}; the driver and the stack share them (no pinning). "
        f"Release binaries of {mtime(os.path.join(BIN, 'understudy'))} (HEAD {head}); the clock was "
        f"ticked through {', '.join(ticks)}. Concurrency {CONCURRENCY}, one driver thread, every "
        f"process's default workers; after a warm-up day of {WARMUP_N} servers, every configuration "
        f"of a topology ran {REPEATS} times, interleaved, and each row is the run with the median "
        f"total (the range of the totals beside it). The 10x goal is judged on the median of "
        f"the repeats' own N = 10,000 / N = 1,000 ratios.\n",
        "The day: authenticate; ceil(N/25) balancers (CLB: 25 nodes each); N servers with "
        "`server_building: 30` (one read: BUILD, on virtual time); one tick of 31 s; "
        "`servers/detail?limit=1000` page by page, all "
        "ACTIVE; each balancer gets its 25 servers as nodes; one create fails (fault rule, 500) and "
        "its retry succeeds; nodes removed 10 ids per bulk delete; servers deleted; balancers "
        "deleted. `lb wait` read: the balancer is read until ACTIVE after every node change; retry: "
        "not read (a 422 would make the driver wait). Times in seconds; mock CPU is the mocks' "
        "processes (Redis apart) during the day. The driver-CPU goal rows also give user and "
        "system time apart (`/proc/PID/stat`, 10 ms ticks, as the kernel sampled them: shown when "
        "each part is 0.05 s at least and the stack's day 0.3 s): the driver's own code against "
        "the stack's, and the kernel's "
        "part, mostly loopback TCP, which the kernel bills to whichever end sends. Steal: the "
        "share of the machine's CPU time the hypervisor took during the median run (and the "
        "most during any run kept); a run during which it took more than "
        f"{STEAL_LIMIT:.0%} measured the neighbours more than the stack, and was set aside and "
        f"run again in its place (at most {STEAL_RERUNS} times per topology; the runs set aside "
        "are listed below the goals).\n",
        "| topology | N | lb wait | total | range | auth | balancers | create | tick | list | add nodes "
        "| fault + retry | remove nodes | delete servers | delete balancers | requests | req/s "
        "| driver CPU | mock CPU | Redis CPU | steal |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in rows:
        ph = [f"{s['phases'].get(p, 0):.3f}" for p in PHASES]
        low, high = s["range"]
        lines.append(f"| {s['topology']} | {s['n']:,} | {s['lb_wait']} | {s['total']:.3f} | "
                     f"{low:.3f}–{high:.3f} ({s['runs']}) | "
                     + " | ".join(ph)
                     + f" | {s['requests']:,} | {s['rps']:,.0f} | {s['driver_cpu']:.3f} | "
                       f"{s['mock_cpu']:.3f} | {s['redis_cpu']:.3f} | "
                       f"{s['steal_share']:.0%} ({s['steal_most']:.0%}) |")
    lines.append("")
    lines.append("Goals (issue 13):\n")
    lines.append("| goal | topology | lb wait | value | met |")
    lines.append("|---|---|---|---|---|")
    by = {(s["topology"], s["n"], s["lb_wait"]): s for s in rows}
    for (topo, n, wait), s in by.items():
        if topo == "memory" and n == 1000:
            ok = s["total"] < 0.5
            lines.append(f"| N = 1,000 under 0.5 s in memory | {topo} | {wait} | {s['total']:.3f} s | "
                         f"{'yes' if ok else '**no**'} |")
    for (topo, n, wait), s in by.items():
        small = by.get((topo, 1000, wait))
        if n == 10000 and small:
            # Each repeat ran N = 1,000 and N = 10,000 minutes apart at most: the median of
            # the repeats' ratios is what decides (the machine's drift moves both of a pair);
            # the ratio of the two median rows is shown beside it.
            paired = [big / little for big, little in zip(s["totals"], small["totals"])]
            ratio = median(paired)
            # Runs kept although the hypervisor took more than the limit (no reruns left).
            noisy = sum(1 for a, b in zip(s["steals"], small["steals"])
                        if max(a, b) > STEAL_LIMIT)
            kept = (f"; {noisy} of the {len(paired)} pairs kept with steal above "
                    f"{STEAL_LIMIT:.0%}, no reruns left" if noisy else "")
            lines.append(f"| N = 10,000 within 10x N = 1,000 | {topo} | {wait} | {ratio:.1f}x "
                         f"(repeats: {', '.join(f'{r:.1f}x' for r in paired)}; median rows: "
                         f"{s['total'] / small['total']:.1f}x{kept}) | "
                         f"{'yes' if ratio <= 10 else '**no**'} |")
    for (topo, n, wait), s in by.items():
        server = s["mock_cpu"] + s["redis_cpu"]
        share = s["driver_cpu"] / server if server else float("inf")
        # Beside it, user and system time apart: the driver's own code against the stack's,
        # and the kernel's (mostly loopback TCP, billed to whichever end sends). They come in
        # 10 ms ticks, sampled: a part under 0.05 s, or a stack under 0.3 s, is too short to
        # split. They need not add up to the share, which is schedstat's.
        (du, ds), (su, ss) = s["driver_split"] or (0, 0), s["stack_split"] or (0, 0)
        if min(du, ds, su, ss) >= 0.05 and su + ss >= 0.3:
            apart = (f" (stat: user {du:.2f} / {su:.2f} s: {du / su:.0%}; "
                     f"system {ds:.2f} / {ss:.2f} s: {ds / ss:.0%})")
        else:
            apart = ""
        per_request = s["driver_cpu"] / s["requests"] * 1e6 if s["requests"] else 0
        lines.append(f"| driver CPU well below the stack's, <= 50% (N = {n:,}) | {topo} | {wait} | "
                     f"{share:.0%} of the stack's{apart}; {per_request:.1f} us per request | "
                     f"{'yes' if share <= 0.5 else '**no**'} |")
    lines.append("")
    for q in quiet:
        if q.set_aside:
            listed = ", ".join(f"N = {r['n']:,} {r['lb_wait']} ({r['total']:.3f} s, steal "
                               f"{r['steal_share']:.0%})" for r in q.set_aside)
            lines.append(f"Set aside in {q.topology} (the hypervisor took more than "
                         f"{STEAL_LIMIT:.0%}): {listed}.\n")
        else:
            lines.append(f"Set aside in {q.topology}: none.\n")
    if floors:
        lines.append("A load generator's floor, for the driver's share: `wrk -t1 -c64` (C; one thread "
                     "and 64 connections, as the driver) against a fresh in-memory stack, on the "
                     "requests the day is made of most. CPU per request from wrk's rusage and the "
                     "stack's schedstat; the driver's own per request is in the rows above (its "
                     "requests also parse JSON).\n")
        lines.append("| request | requests | wrk CPU per request | stack CPU per request | wrk / stack |")
        lines.append("|---|---|---|---|---|")
        for f in floors:
            lines.append(f"| {f['request']} | {f['requests']:,} | {f['wrk_us']:.1f} us | "
                         f"{f['stack_us']:.1f} us | {f['share']:.0%} |")
    elif floors == []:
        lines.append("No load generator's floor: its measurement failed (see the script's output).")
    else:
        lines.append("No load generator's floor: wrk is not installed.")
    lines.append("")
    if cores:
        lines.append(
            "Cores apart, for what the figures measure: the memory day again on a fresh launcher "
            "pinned to one CPU, the driver pinned to another (`sched_setaffinity`), so neither "
            "takes the other's cycles (on a virtual machine two CPUs may still share a physical "
            "core). Pinned to one CPU, each mock of the launcher runs one worker, its default "
            "there. Runs as above, median rows. Busy: CPU time over the day's time, the "
            "`fault + retry` phase's time left out (the driver sits out a retry back-off there on "
            "purpose; the CPU of its few requests stays in, so busy can pass 100% by that much). "
            "A stack whose core is busy through the day never waited for the driver: "
            "the day's time is the stack's own work. The goal is met when the stack's core is "
            f"busy {APART_STACK_BUSY:.0%} of the day at least, and busier than the driver's. On a "
            "core of its own the driver sleeps and wakes more often, so it spends more per "
            "request than when the two share the cores.\n")
        lines.append("| N | lb wait | total | range | stack's core busy | driver's core busy "
                     "| driver CPU / stack CPU | met |")
        lines.append("|---|---|---|---|---|---|---|---|")
        for s in cores:
            busy = apart_busy(s)
            low, high = s["range"]
            ok = bool(busy) and busy["stack"] >= APART_STACK_BUSY and busy["driver"] < busy["stack"]
            shown = (f"{busy['stack']:.0%} | {busy['driver']:.0%}" if busy else "- | -")
            lines.append(f"| {s['n']:,} | {s['lb_wait']} | {s['total']:.3f} | {low:.3f}–{high:.3f} "
                         f"({s['runs']}) | {shown} | "
                         f"{percent(s['driver_cpu'], s['mock_cpu'])} | {'yes' if ok else '**no**'} |")
    elif cores == []:
        lines.append("Cores apart: the pinned runs failed (see the script's output).")
    else:
        lines.append("Cores apart: not measured (the memory topology did not run, or the machine "
                     "has one core).")
    path = os.path.join(ROOT, "bench", "RESULTS.md")
    with open(path, "a") as f:
        f.write("\n".join(lines) + "\n")
    say(f"==> appended to {path}")


def kept_on_failure(measure, label):
    """What `measure()` returns, or `[]` (shown as failed) when it fails: the runs before
    it are written all the same."""
    try:
        return measure()
    except Exception as e:  # noqa: BLE001 - whatever fails here, the earlier runs stand
        say(f"    {label} failed: {e}")
        return []


def main():
    if len(sys.argv) > 1 and sys.argv[1] in ("-h", "--help"):
        say(__doc__)
        return 0
    for b in [DRIVER] + [os.path.join(BIN, x) for x in ("understudy", "identity-mock", "compute-mock", "lb-mock")]:
        if not os.access(b, os.X_OK):
            say(f"missing {b}: build the release binaries first (see --help)")
            return 2
    rows = []
    quiet = []
    for topology in TOPOLOGIES:
        say(f"==> {topology}: {DESCRIBED[topology]}")
        stack = STARTERS[topology]()
        q = Quiet(topology)
        quiet.append(q)
        try:
            drive(stack, WARMUP_N, "read")
            # The runs of every configuration interleaved, so the machine's drift moves
            # them all; each row is then the run with the median total.
            runs = {}
            for _ in range(REPEATS):
                for n in NS:
                    for wait in LB_WAITS:
                        s = q.run(stack, n, wait)
                        show(s)
                        runs.setdefault((n, wait), []).append(s)
            for each in runs.values():
                rows.append(median_run(each))
        finally:
            stack.stop()
    floors = apart = None
    if "memory" in TOPOLOGIES:
        say("==> floor: wrk against an in-memory stack")
        floors = kept_on_failure(floor, "floor")
        say("==> cores apart: the memory day, the stack on one core and the driver on another")
        q = Quiet("cores apart")
        quiet.append(q)
        apart = kept_on_failure(lambda: cores_apart(q), "cores apart")
    if os.environ.get("SCENARIO_NO_RESULTS") != "1":
        write_results(rows, floors, apart, quiet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
