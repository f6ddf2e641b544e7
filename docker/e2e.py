"""Drives the Docker Compose stack from the host, as a user's CI would.

Authenticate, read the catalog, create servers and wait for ACTIVE, put them behind a
load balancer, inject a fault on Compute through Identity's control API (a rule that
names Compute is kept by Compute), see it, clear it. Exits non-zero at the first failed
step. The topology suite (e2e/topology) and the SDK suite (e2e/sdk) run after it.
"""
import json
import sys
import time
import urllib.error
import urllib.request

IDENTITY = "http://localhost:5000"


def call(method, url, body=None, token=None, expect=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("X-Auth-Token", token)
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            status, raw = res.status, res.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    parsed = json.loads(raw) if raw else None
    if expect is not None and status != expect:
        fail(f"{method} {url}: expected {expect}, got {status}: {raw[:300]!r}")
    return status, parsed


def fail(msg):
    print(f"FAILED: {msg}", flush=True)
    sys.exit(1)


def step(msg):
    print(f"--> {msg}", flush=True)


step("authenticate with passwordCredentials")
_, access = call("POST", f"{IDENTITY}/v2.0/tokens",
                 {"auth": {"passwordCredentials": {"username": "ci-user", "password": "secret"},
                           "tenantId": "000001"}}, expect=200)
token = access["access"]["token"]["id"]
tenant = access["access"]["token"]["tenant"]["id"]

step("read the catalog")
catalog = {s["name"]: s for s in access["access"]["serviceCatalog"]}
for name in ("cloudServersOpenStack", "cloudLoadBalancers", "cloudOrchestration", "rackconnect"):
    if name not in catalog:
        fail(f"catalog lacks {name}")


def public_url(name, region="ORD"):
    for e in catalog[name]["endpoints"]:
        if e["region"] == region:
            return e["publicURL"]
    fail(f"{name} has no {region} endpoint")


nova = public_url("cloudServersOpenStack")
clb = public_url("cloudLoadBalancers")
print(f"    compute {nova}\n    load balancers {clb}")

step("create two servers")
_, images = call("GET", f"{nova}/images", token=token, expect=200)
ubuntu = next((i["id"] for i in images["images"] if i["name"].startswith("Ubuntu")), None)
if ubuntu is None:
    fail("no Ubuntu image listed")
ids = []
for i in range(2):
    _, body = call("POST", f"{nova}/servers",
                   {"server": {"name": f"e2e-{i}", "imageRef": ubuntu, "flavorRef": "2"}},
                   token=token, expect=202)
    ids.append(body["server"]["id"])

step("wait until both are ACTIVE")
deadline = time.time() + 60
addresses = {}
while time.time() < deadline and len(addresses) < len(ids):
    for sid in ids:
        _, body = call("GET", f"{nova}/servers/{sid}", token=token, expect=200)
        if body["server"]["status"] == "ACTIVE":
            addresses[sid] = body["server"]["addresses"]["private"][0]["addr"]
        elif body["server"]["status"] not in ("BUILD",):
            fail(f"server {sid} went {body['server']['status']}")
    time.sleep(0.5)
if len(addresses) < len(ids):
    fail("servers did not become ACTIVE within 60 s")

step("create a load balancer and wait for ACTIVE")
_, body = call("POST", f"{clb}/loadbalancers",
               {"loadBalancer": {"name": "e2e", "port": 80, "protocol": "HTTP",
                                 "virtualIps": [{"type": "PUBLIC"}]}}, token=token, expect=202)
lb_id = body["loadBalancer"]["id"]
deadline = time.time() + 30
while True:
    _, body = call("GET", f"{clb}/loadbalancers/{lb_id}", token=token, expect=200)
    if body["loadBalancer"]["status"] == "ACTIVE":
        break
    if time.time() > deadline:
        fail(f"load balancer stuck in {body['loadBalancer']['status']}")
    time.sleep(0.5)

step("put the servers behind it")
nodes = [{"address": a, "port": 80, "condition": "ENABLED"} for a in addresses.values()]
call("POST", f"{clb}/loadbalancers/{lb_id}/nodes", {"nodes": nodes}, token=token, expect=202)
_, body = call("GET", f"{clb}/loadbalancers/{lb_id}/nodes", token=token, expect=200)
if sorted(n["address"] for n in body["nodes"]) != sorted(addresses.values()):
    fail(f"nodes are {body['nodes']}")

step("a node follows its server: ERROR on Compute makes it OFFLINE on the balancer")
nova_control = public_url("cloudServersBehavior")
broken = ids[0]
call("POST", f"{nova_control}/attributes", {"status": {broken: "ERROR"}}, expect=201)
deadline = time.time() + 15
while True:
    _, body = call("GET", f"{clb}/loadbalancers/{lb_id}/nodes", token=token, expect=200)
    status = {n["address"]: n["status"] for n in body["nodes"]}
    if status.get(addresses[broken]) == "OFFLINE" and status.get(addresses[ids[1]]) == "ONLINE":
        break
    if time.time() > deadline:
        fail(f"node status did not follow Compute: {status}")
    time.sleep(0.5)

step("inject a fault on Compute through Identity's control API (it names Compute, so it goes there)")
_, body = call("POST", f"{IDENTITY}/_understudy/v1/faults",
               {"id": "e2e-fault", "match": {"service": "compute", "method": "GET"},
                "action": {"type": "error", "status": 503, "message": "injected by e2e"}}, expect=201)
if body.get("match", {}).get("service") != "compute":
    fail(f"the rule Compute took is not Compute's: {body}")
_, on_compute = call("GET", "http://localhost:8774/_understudy/v1/faults", expect=200)
_, on_identity = call("GET", f"{IDENTITY}/_understudy/v1/faults", expect=200)
if [r["id"] for r in on_compute["faults"]] != ["e2e-fault"] or on_identity["faults"]:
    fail(f"the rule should live on Compute alone: {on_compute} {on_identity}")

step("see it")
status, body = call("GET", f"{nova}/servers", token=token)
if status != 503:
    fail(f"expected the injected 503 from Compute, got {status}")
status, _ = call("GET", f"{clb}/loadbalancers", token=token)
if status != 200:
    fail(f"the fault leaked to load balancers: {status}")

step("clear it")
call("DELETE", f"{IDENTITY}/_understudy/v1/faults?scope=stack", expect=200)
call("GET", f"{nova}/servers", token=token, expect=200)

step("the journal of Compute shows the injected answer")
_, body = call("GET", "http://localhost:8774/_understudy/v1/journal?rule=e2e-fault", expect=200)
if not body["entries"]:
    fail("journal does not name the rule")

print("e2e: all steps passed", flush=True)
