#!/usr/bin/env python3
"""Server churn: does Compute's memory stay bounded when a tenant creates and deletes
servers for a long time (an autoscaler in a long CI run)?

    python3 bench/churn.py [COMPUTE_BINARY] [--cycles 40000] [--threads 8]

Starts the binary alone (open auth, no peers) on a free port, creates and deletes
`--cycles` servers in one tenant over `--threads` connections, and prints the process's
RSS and the size of GET /_understudy/v1/state before and after. The binary defaults to
the release build (cargo build --release -p compute-mock).
"""
import argparse
import http.client
import json
import os
import subprocess
import sys
import threading
import time

# The helpers bench/run.py uses (it runs nothing when imported).
from run import free_port, rss_mb  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Client:
    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def call(self, method, path, body=None):
        data = json.dumps(body) if body is not None else None
        self.conn.request(method, path, data, {"Content-Type": "application/json"})
        res = self.conn.getresponse()
        raw = res.read()
        return res.status, raw


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary", nargs="?",
                    default=os.path.join(ROOT, "target/release/compute-mock"))
    ap.add_argument("--cycles", type=int, default=40_000)
    ap.add_argument("--threads", type=int, default=8)
    args = ap.parse_args()

    port = free_port()
    env = dict(os.environ, UNDERSTUDY__SERVER__PORT=str(port), UNDERSTUDY__AUTH__MODE="open",
               UNDERSTUDY__CATALOG__IDENTITY_URL="", UNDERSTUDY__TELEMETRY__LEVEL="warn")
    proc = subprocess.Popen([args.binary], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                if Client(port).call("GET", "/_understudy/v1/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.05)
        tenant = "churn"
        c = Client(port)
        _, raw = c.call("GET", f"/v2/{tenant}/images")
        image = json.loads(raw)["images"][0]["id"]
        body = {"server": {"name": "churn", "imageRef": image, "flavorRef": "2"}}

        def cycles(n, errors):
            cl = Client(port)
            for _ in range(n):
                status, raw = cl.call("POST", f"/v2/{tenant}/servers", body)
                if status != 202:
                    errors.append(status)
                    continue
                sid = json.loads(raw)["server"]["id"]
                status, _ = cl.call("DELETE", f"/v2/{tenant}/servers/{sid}")
                if status != 204:
                    errors.append(status)

        def run(n):
            errors = []
            per = n // args.threads
            threads = [threading.Thread(target=cycles, args=(per, errors))
                       for _ in range(args.threads)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return per * args.threads, errors

        run(2_000)  # warm-up
        before_rss = rss_mb(proc)
        before_state = len(Client(port).call("GET", "/_understudy/v1/state")[1])
        start = time.time()
        done, errors = run(args.cycles)
        took = time.time() - start
        after_rss = rss_mb(proc)
        after_state = len(Client(port).call("GET", "/_understudy/v1/state")[1])
        print(json.dumps({
            "binary": args.binary,
            "cycles": done,
            "seconds": round(took, 1),
            "errors": len(errors),
            "rss_mb_after_warmup": round(before_rss, 1),
            "rss_mb_after_cycles": round(after_rss, 1),
            "state_bytes_after_warmup": before_state,
            "state_bytes_after_cycles": after_state,
        }, indent=2))
        return 1 if errors else 0
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
