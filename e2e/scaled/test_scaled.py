#!/usr/bin/env python3
"""The scaled Compose stack: replicas of a mock, as containers on one Redis, are one service.

    python3 test_scaled.py --identity URL --compute URL1,URL2,URL3 --lb URL1,URL2 \
        --compute-containers ID1,ID2,ID3 [--redis-host H --redis-port P --namespace NS] \
        [--backend redis|memory] [--only NAME,...]

`run.sh` brings the stack up (`docker compose --scale compute=3 --scale lb=2`, every mock's
store in one Redis) and calls this with each replica's published port on the host and the
compute replicas' container ids. The checks are e2e/replicas' (test_replicas.py, imported),
run against containers reached through their own published ports; a replica is killed with
`docker kill`. Python 3.11 standard library only. Prints `PASS name` / `FAIL name: detail`
per check, then `scaled: N passed, M failed`; exits 1 on any failure (2 on a usage error).
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import socket
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ beside the imported suite
_spec = importlib.util.spec_from_file_location(
    "test_replicas", os.path.join(HERE, "..", "replicas", "test_replicas.py"))
replicas = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(replicas)
CheckFailed, ensure = replicas.CheckFailed, replicas.ensure


class ComposeStack(replicas.Stack):
    """The replicas are containers: compute replica i is container `compute_containers[i]`."""

    def __init__(self, args):
        super().__init__(args)
        self.compute_containers = [c for c in args.compute_containers.split(",") if c]
        self.redis_host = args.redis_host
        self.namespace = args.namespace

    def can_kill_compute(self, i):
        if len(self.compute_containers) > i:
            return None
        return f"no container id for compute replica {i + 1} (--compute-containers)"

    def kill_compute(self, i):
        # SIGKILL, as `docker kill` sends by default; the container is not restarted.
        subprocess.run(["docker", "kill", self.compute_containers[i]], check=True,
                       stdout=subprocess.DEVNULL, timeout=30)


def redis_command(host, port, *args):
    """One command over RESP; the reply as bytes, an int, a list or None."""
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.settimeout(5)
        req = b"*%d\r\n" % len(args) + b"".join(
            b"$%d\r\n%s\r\n" % (len(a), a) for a in (x.encode() for x in args))
        sock.sendall(req)
        f = sock.makefile("rb")

        def read():
            line = f.readline().rstrip(b"\r\n")
            kind, rest = line[:1], line[1:]
            if kind == b"+":
                return rest
            if kind == b"-":
                raise CheckFailed(f"redis: {rest.decode()}")
            if kind == b":":
                return int(rest)
            if kind == b"$":
                n = int(rest)
                return None if n < 0 else f.read(n + 2)[:-2]
            if kind == b"*":
                n = int(rest)
                return None if n < 0 else [read() for _ in range(n)]
            raise CheckFailed(f"redis: unexpected reply {line!r}")

        return read()


def check_state_in_the_stacks_redis(st, tenant):
    """A server created through a compute container is a key of the stack's namespace in
    the Redis run.sh started, and every service of the stack keeps keys there."""
    ensure(st.redis_port and st.namespace, "no --redis-port/--namespace: cannot look into Redis")
    s = st.authenticate(tenant)
    sid = replicas.expect(s.create_server(1, "in-redis"), 202, what="create through compute replica 2")
    sid = sid.json["server"]["id"]
    keys, cursor = [], b"0"
    while True:  # SCAN, not KEYS: the namespace's keys only, in pages
        cursor, page = redis_command(st.redis_host, st.redis_port, "SCAN", cursor.decode(),
                                     "MATCH", f"{st.namespace}:*", "COUNT", "1000")
        keys += [k.decode() for k in page]
        if cursor == b"0":
            break
    services = {k.split(":")[1] for k in keys if k.count(":") >= 2}
    missing = {"identity", "compute", "lb"} - services
    ensure(keys, f"Redis {st.redis_host}:{st.redis_port} holds no key of namespace {st.namespace!r}")
    ensure(not missing, f"no key of {sorted(missing)} under {st.namespace!r} "
                        f"(services with keys: {sorted(services)})")
    # Nova's servers: a hash per tenant and region, id -> record (common/src/store/redis.rs).
    rows = [k for k in keys if k.startswith(f"{st.namespace}:compute:rows:") and f":{s.tenant}:" in k]
    holding = [k for k in rows if redis_command(st.redis_host, st.redis_port, "HEXISTS", k, sid) == 1]
    ensure(holding, f"no hash {st.namespace}:compute:rows:*:{s.tenant}:* holds server {sid} "
                    f"(the tenant's keys: {rows})")
    print(f"  ({len(keys)} keys under {st.namespace}:*, services {sorted(services)}; "
          f"server {sid} in {holding[0]})", flush=True)


CHECKS = [
    ("state_in_the_stacks_redis", check_state_in_the_stacks_redis),
    ("shared_server_lifecycle", replicas.check_shared_server_lifecycle),
    ("concurrent_creates_300", replicas.check_concurrent_creates_300),
    ("lb_node_limit_across_replicas", replicas.check_lb_node_limit_across_replicas),
    ("fault_budget_shared", replicas.check_fault_budget_shared),
    ("one_clock_for_all_replicas", replicas.check_one_clock_for_all_replicas),
    # Changes the stack for good (a dead replica): last.
    ("replica_killed_mid_load", replicas.check_replica_killed_mid_load),
]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--identity", required=True)
    p.add_argument("--compute", required=True, help="comma-separated URLs of the compute replicas (3)")
    p.add_argument("--lb", required=True, help="comma-separated URLs of the lb replicas (2)")
    p.add_argument("--compute-containers", default="", help="comma-separated container ids, same order")
    p.add_argument("--redis-host", default="127.0.0.1", help="the stack's Redis, as the host reaches it")
    p.add_argument("--redis-port", type=int, default=0)
    p.add_argument("--namespace", default="", help="the stack's store.namespace")
    p.add_argument("--lb-pending-update-ms", type=int, default=0,
                   help="lb.pending_update_time_ms the lb replicas run with (Compose sets none: 0)")
    p.add_argument("--backend", default="redis", help="the store the mocks run with (for the output)")
    p.add_argument("--only", default="", help="comma-separated check names")
    args = p.parse_args(argv)
    # What test_replicas' Stack reads and this suite does not use (Redis is never stopped).
    args.compute_pids, args.redis_cmd, args.redis_pid, args.redis_pidfile, args.redis_log = "", "", 0, "", ""
    st = ComposeStack(args)
    if len(st.computes) < 3 or len(st.lbs) < 2:
        p.error("needs three compute and two lb replicas")
    only = {x for x in args.only.split(",") if x}
    if only - {n for n, _ in CHECKS}:
        p.error(f"unknown checks: {', '.join(sorted(only - {n for n, _ in CHECKS}))}")
    print(f"-- {len(st.computes)} compute and {len(st.lbs)} lb replicas, {args.backend} store", flush=True)
    return 1 if replicas.run_checks(st, CHECKS, {}, only, "scaled") else 0


if __name__ == "__main__":
    sys.exit(main())
