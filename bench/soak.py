#!/usr/bin/env python3
"""Soak: the whole stack under a mixed load for minutes, with faults firing, the journal
full and the clock advancing. Does memory stay flat, and is every error an injected one?

    python3 bench/soak.py [LAUNCHER_BINARY] [--minutes 10] [--threads 6]

Starts the launcher (default: the release build, cargo build --release -p understudy) on
free ports; installs fault rules that fire on a share of requests (503 on Compute's
flavors, 500 on CLB's node list, a delay on Identity); then each worker loops through an
autoscaler's mix — authenticate, create servers and delete them, create a balancer, add
and remove nodes, read everything, create and delete key pairs, validate its token — while
one more thread ticks the clock. Every 30 s it samples the process's RSS. At the end it
prints the RSS samples, request counts, and errors split into injected (the journal names
the rule) and others. Exit 1 if any error was not injected, or if the highest RSS of the last third
of the run is more than 20% above the highest of the first third after warm-up.
"""
import argparse
import collections
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time

# The helpers bench/run.py uses (it runs nothing when imported).
from run import free_port, rss_mb  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Client:
    def __init__(self, port):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def call(self, method, path, body=None, token=None):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["X-Auth-Token"] = token
        data = json.dumps(body) if body is not None else None
        for attempt in range(2):
            try:
                self.conn.request(method, path, data, headers)
                res = self.conn.getresponse()
                raw = res.read()
                break
            except (OSError, http.client.HTTPException):
                # A kept-alive connection the server closed while idle: once more, anew.
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                if attempt == 1:
                    return 0, None, {}
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return res.status, parsed, dict(res.getheaders())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary", nargs="?", default=os.path.join(ROOT, "target/release/understudy"))
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--threads", type=int, default=6)
    args = ap.parse_args()

    ports = [free_port() for _ in range(3)]
    ip, cp, lp = ports
    proc = subprocess.Popen(
        [args.binary, "--identity-port", str(ip), "--compute-port", str(cp), "--lb-port", str(lp)],
        env=dict(os.environ, UNDERSTUDY__TELEMETRY__LEVEL="warn"),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    counts = collections.Counter()
    errors = collections.Counter()
    lock = threading.Lock()
    stop = time.time() + args.minutes * 60
    try:
        for _ in range(200):
            try:
                if all(Client(p).call("GET", "/_understudy/v1/ready")[0] == 200 for p in ports):
                    break
            except OSError:
                pass
            time.sleep(0.05)
        control = {p: Client(p) for p in ports}
        rules = [
            (cp, {"id": "soak-flavors", "match": {"method": "GET", "path": "/**/flavors"},
                  "action": {"type": "error", "status": 503, "message": "soak"},
                  "budget": {"probability": 0.1, "seed": 7}}),
            (lp, {"id": "soak-nodes", "match": {"method": "GET", "path": "/**/nodes"},
                  "action": {"type": "error", "status": 500, "message": "soak"},
                  "budget": {"probability": 0.05, "seed": 9}}),
            (ip, {"id": "soak-delay", "match": {"method": "GET", "path": "/v2.0/tokens/*"},
                  "action": {"type": "delay", "ms": 2}, "budget": {"probability": 0.2, "seed": 3}}),
        ]
        for port, rule in rules:
            status = control[port].call("POST", "/_understudy/v1/faults", rule)[0]
            assert status == 201, f"fault rule refused: {status}"

        def note(what, status, injected_ok=False):
            with lock:
                counts[what] += 1
                if status == 0 or status >= 400:
                    key = "injected" if injected_ok and status in (500, 503) else f"{what} {status}"
                    errors[key] += 1

        def worker(n):
            ic, cc, lc = Client(ip), Client(cp), Client(lp)
            rnd = random.Random(n)
            tenant = f"soak{n}"
            while time.time() < stop:
                st, body, _ = ic.call("POST", "/v2.0/tokens", {"auth": {
                    "passwordCredentials": {"username": f"u{n}", "password": "p"}, "tenantId": tenant}})
                note("token", st)
                if st != 200:
                    continue
                token = body["access"]["token"]["id"]
                nova, clb = f"/ORD/v2/{tenant}", f"/ORD/v1.0/{tenant}"
                st, _, _ = ic.call("GET", f"/v2.0/tokens/{token}")
                note("validate", st)
                st, _, _ = cc.call("GET", f"{nova}/flavors", token=token)
                note("flavors", st, injected_ok=True)
                st, images, _ = cc.call("GET", f"{nova}/images", token=token)
                note("images", st)
                image = images["images"][0]["id"] if st == 200 else None
                servers = []
                for i in range(3):
                    st, b, _ = cc.call("POST", f"{nova}/servers", {"server": {
                        "name": f"soak-{n}-{i}", "imageRef": image, "flavorRef": "2"}}, token)
                    note("create server", st)
                    if st == 202:
                        servers.append(b["server"]["id"])
                st, _, _ = cc.call("GET", f"{nova}/servers/detail", token=token)
                note("servers/detail", st)
                st, b, _ = lc.call("POST", f"{clb}/loadbalancers", {"loadBalancer": {
                    "name": f"soak-{n}", "port": 80, "protocol": "HTTP",
                    "virtualIps": [{"type": "PUBLIC"}]}}, token)
                note("create lb", st)
                if st == 202:
                    lb = b["loadBalancer"]["id"]
                    st, b, _ = lc.call("POST", f"{clb}/loadbalancers/{lb}/nodes", {"nodes": [
                        {"address": f"10.{n}.0.{i}", "port": 80, "condition": "ENABLED"}
                        for i in range(1, 4)]}, token)
                    note("add nodes", st)
                    st, _, _ = lc.call("GET", f"{clb}/loadbalancers/{lb}/nodes", token=token)
                    note("list nodes", st, injected_ok=True)
                    st, _, _ = lc.call("GET", f"{clb}/loadbalancers/{lb}", token=token)
                    note("get lb", st)
                    st, _, _ = lc.call("DELETE", f"{clb}/loadbalancers/{lb}", token=token)
                    note("delete lb", st)
                kp = f"soak-{n}-{rnd.randrange(10**9)}"
                st, _, _ = cc.call("POST", f"{nova}/os-keypairs", {"keypair": {"name": kp}}, token)
                note("create keypair", st)
                st, _, _ = cc.call("DELETE", f"{nova}/os-keypairs/{kp}", token=token)
                note("delete keypair", st)
                for sid in servers:
                    st, _, _ = cc.call("DELETE", f"{nova}/servers/{sid}", token=token)
                    note("delete server", st)

        def ticker():
            c = Client(ip)
            while time.time() < stop:
                st = c.call("POST", "/_understudy/v1/clock/advance", {"seconds": 30})[0]
                note("clock", st)
                time.sleep(1)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(args.threads)]
        threads.append(threading.Thread(target=ticker))
        for t in threads:
            t.start()
        samples = []
        started = time.time()
        while time.time() < stop:
            time.sleep(min(30, max(0.1, stop - time.time())))
            samples.append((round(time.time() - started), round(rss_mb(proc), 1)))
            print(f"  {samples[-1][0]:>4} s  RSS {samples[-1][1]} MB", flush=True)
        for t in threads:
            t.join()
        fired = {}
        for port, rule in rules:
            _, view, _ = control[port].call("GET", f"/_understudy/v1/faults/{rule['id']}")
            fired[rule["id"]] = view.get("fired") if isinstance(view, dict) else None
        # Samples after the first minute: warm-up (allocator, caches, journal) is over.
        # RSS swings with the answers in flight, so compare peaks: the highest of the last
        # third against the highest of the first third.
        steady = [rss for (t, rss) in samples if t >= 60] or [s[1] for s in samples]
        third = max(1, len(steady) // 3)
        first, last = max(steady[:third]), max(steady[-third:])
        growth = (last - first) / first if first else 0
        other = {k: v for k, v in errors.items() if k != "injected"}
        result = {
            "minutes": args.minutes,
            "requests": sum(counts.values()),
            "by_kind": dict(counts),
            "injected_errors": errors.get("injected", 0),
            "faults_fired": fired,
            "other_errors": other,
            "rss_mb_samples": samples,
            "rss_peak_growth_after_warmup": round(growth, 3),
        }
        print(json.dumps(result, indent=2))
        return 1 if other or growth > 0.2 else 0
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
