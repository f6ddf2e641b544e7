"""Compute and Load Balancers mocks in `remote` mode beside a real Keystone.

    python3 e2e/keystone/test_remote.py KEYSTONE_URL [WORKDIR]

KEYSTONE_URL is a Keystone started by start.sh; WORKDIR (default: a temporary directory)
holds its credentials.env (written by start.sh) and gets the mocks' logs. The mock binaries
are taken from $UNDERSTUDY_BIN_DIR (default <repo>/target/debug).

Standard library only (nothing to pin). Every check runs even when an earlier one fails;
the last line is `keystone: N passed, M failed` and the exit status is 1 on any failure.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

KEYSTONE = sys.argv[1].rstrip("/") if len(sys.argv) > 1 else "http://127.0.0.1:35357"
WORKDIR = sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp(prefix="understudy-ks-")
BIN_DIR = os.environ.get(
    "UNDERSTUDY_BIN_DIR",
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "target", "debug"),
)
REGION = "ORD"
# How long the mocks reuse Keystone's answer about a token.
CACHE_TTL_MS = int(os.environ.get("UNDERSTUDY_E2E_CACHE_TTL_MS", "2000"))
# How long a new server stays in BUILD in the Compute mock (the LB check needs a server
# that is not ACTIVE, then one that is).
BUILD_TIME_MS = 8000
READY_TIMEOUT_S = float(os.environ.get("UNDERSTUDY_E2E_READY_TIMEOUT_S", "20"))

PASSED = []
FAILED = []
PROCS = []


# --- reporting ----------------------------------------------------------------------------

def check(name, ok, evidence=""):
    """Record one check; never raises."""
    if ok:
        PASSED.append(name)
        print(f"PASS  {name}" + (f"  [{evidence}]" if evidence else ""), flush=True)
    else:
        FAILED.append(name)
        print(f"FAIL  {name}\n      {evidence}", flush=True)
    return ok


def info(text):
    print(f"INFO  {text}", flush=True)


def skip(name, why):
    print(f"SKIP  {name}: {why}", flush=True)


def short(body, n=400):
    text = body if isinstance(body, str) else json.dumps(body)
    return text if len(text) <= n else text[:n] + "..."


# --- HTTP ---------------------------------------------------------------------------------

class Res:
    def __init__(self, status, headers, raw):
        self.status, self.headers, self.raw = status, headers, raw

    @property
    def text(self):
        return self.raw.decode("utf-8", "replace")

    def json(self):
        try:
            return json.loads(self.raw) if self.raw else None
        except ValueError:
            return None

    def __str__(self):
        return f"{self.status} {short(self.text)}"


def http(method, url, token=None, body=None, headers=None, timeout=10):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    req.add_header("Accept", "application/json")
    if token:
        req.add_header("X-Auth-Token", token)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return Res(r.status, r.headers, r.read())
    except urllib.error.HTTPError as e:
        return Res(e.code, e.headers, e.read())
    except (urllib.error.URLError, OSError) as e:
        return Res(0, {}, f"no answer: {e}".encode())


# --- Keystone -----------------------------------------------------------------------------

def credentials():
    creds = {
        "ADMIN_USER": "admin", "ADMIN_PASSWORD": "understudy-admin-pw", "ADMIN_PROJECT": "admin",
        "DEMO_USER": "understudy-demo", "DEMO_PASSWORD": "understudy-pw",
        "DEMO_PROJECT": "understudy-demo",
        "OTHER_USER": "understudy-other", "OTHER_PASSWORD": "understudy-pw",
        "OTHER_PROJECT": "understudy-other",
    }
    path = os.path.join(WORKDIR, "credentials.env")
    if os.path.exists(path):
        for line in open(path):
            if "=" in line:
                k, v = line.strip().split("=", 1)
                creds[k] = v
    return creds


def v3_token(user, password, project):
    res = http("POST", f"{KEYSTONE}/v3/auth/tokens", body={"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"id": "default"}}}}})
    if res.status != 201:
        raise RuntimeError(f"Keystone refused a token for {user}: {res}")
    body = res.json()["token"]
    return res.headers["X-Subject-Token"], body["project"]["id"], body


def v2_token(user, password, project):
    res = http("POST", f"{KEYSTONE}/v2.0/tokens", body={"auth": {
        "passwordCredentials": {"username": user, "password": password},
        "tenantName": project}})
    if res.status != 200:
        raise RuntimeError(f"Keystone v2.0 refused a token for {user}: {res}")
    access = res.json()["access"]
    return access["token"]["id"], access["token"]["tenant"]["id"]


def register_compute(admin, compute_url):
    """A `compute` service (named as Rackspace's) with a public endpoint in ORD pointing at
    the Compute mock; Keystone fills `$(project_id)s` per token. Returns the URL template."""
    template = f"{compute_url}/{REGION}/v2/$(project_id)s"
    res = http("GET", f"{KEYSTONE}/v3/services?type=compute", admin)
    for s in (res.json() or {}).get("services", []):
        http("DELETE", f"{KEYSTONE}/v3/services/{s['id']}", admin)
    res = http("POST", f"{KEYSTONE}/v3/services", admin, {"service": {
        "type": "compute", "name": "cloudServersOpenStack", "enabled": True,
        "description": "Understudy compute mock"}})
    if res.status != 201:
        raise RuntimeError(f"cannot create the compute service: {res}")
    service_id = res.json()["service"]["id"]
    for interface in ("public", "internal"):
        res = http("POST", f"{KEYSTONE}/v3/endpoints", admin, {"endpoint": {
            "service_id": service_id, "interface": interface, "region_id": REGION,
            "url": template, "enabled": True}})
        if res.status != 201:
            raise RuntimeError(f"cannot create the {interface} compute endpoint: {res}")
    return template


# --- mocks --------------------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_mock(binary, label, port, extra_env):
    path = os.path.join(BIN_DIR, binary)
    env = dict(os.environ)
    env.update({
        "UNDERSTUDY__SERVER__PORT": str(port),
        "UNDERSTUDY__SERVER__WORKERS": "1",
        "UNDERSTUDY__AUTH__MODE": "remote",
        "UNDERSTUDY__AUTH__REMOTE__URL": KEYSTONE,
        "UNDERSTUDY__AUTH__REMOTE__CACHE_TTL_MS": str(CACHE_TTL_MS),
        "UNDERSTUDY__CATALOG__IDENTITY_URL": KEYSTONE,
        "UNDERSTUDY__CATALOG__CACHE_TTL_MS": "1000",
        "UNDERSTUDY__TELEMETRY__LEVEL": "debug",
        "NO_COLOR": "1",
    })
    env.update(extra_env)
    log = open(os.path.join(WORKDIR, f"{label}.log"), "wb")
    shown = " ".join(f"{k}={v}" for k, v in sorted(env.items()) if k.startswith("UNDERSTUDY__"))
    info(f"start {label}: {shown} {path}")
    proc = subprocess.Popen([path], env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    PROCS.append(proc)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{label} exited with {proc.returncode}; see {log.name}")
        if http("GET", f"{url}/_understudy/v1/health", timeout=2).status == 200:
            return url, proc
        time.sleep(0.2)
    raise RuntimeError(f"{label} did not answer /_understudy/v1/health in 30s; see {log.name}")


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_ready(name, url):
    """`/_understudy/v1/ready` answers 200 within READY_TIMEOUT_S."""
    deadline = time.time() + READY_TIMEOUT_S
    res = None
    while time.time() < deadline:
        res = http("GET", f"{url}/_understudy/v1/ready", timeout=5)
        if res.status == 200:
            break
        time.sleep(0.5)
    return check(f"{name}: /_understudy/v1/ready is 200 beside the real Keystone",
                 res.status == 200, f"GET /_understudy/v1/ready -> {res}")


# --- Compute checks -----------------------------------------------------------------------

def compute_checks(version, creds, mint):
    """Compute in remote mode over `version`; `mint(label)` -> (token, project_id)."""
    port = free_port()
    url, proc = start_mock("compute-mock", f"compute-{version}", port, {
        "UNDERSTUDY__AUTH__REMOTE__VERSION": version,
        "UNDERSTUDY__COMPUTE__BUILD_TIME_MS": str(BUILD_TIME_MS),
    })
    name = f"compute {version}"
    wait_ready(name, url)

    token, project = mint("DEMO")
    other_token, other_project = mint("OTHER")
    servers = f"{url}/{REGION}/v2/{project}/servers"

    res = http("GET", servers, token)
    check(f"{name}: a valid project-scoped token lists servers (200)",
          res.status == 200, f"GET /{REGION}/v2/{{project}}/servers -> {res}")

    res = http("GET", servers, "not-a-keystone-token")
    check(f"{name}: a bogus token is refused (401)", res.status == 401, f"-> {res}")

    res = http("GET", servers, other_token)
    check(f"{name}: another project's token on this project's URL is refused (401)",
          res.status == 401, f"token of {other_project} on {project}'s URL -> {res}")

    res = http("GET", f"{url}/{REGION}/v2/{other_project}/servers", other_token)
    check(f"{name}: the other project's token works on its own URL (200)",
          res.status == 200, f"-> {res}")

    res = http("GET", servers)
    check(f"{name}: no token is refused (401)", res.status == 401, f"-> {res}")

    images = http("GET", f"{url}/{REGION}/v2/{project}/images", token)
    image = ((images.json() or {}).get("images") or [{}])[0].get("id")
    res = http("POST", servers, token,
               {"server": {"name": f"e2e-{version}", "imageRef": image, "flavorRef": "2"}})
    check(f"{name}: a server create is accepted (202)", res.status == 202,
          f"POST servers (image {image}) -> {res}")
    server_id = ((res.json() or {}).get("server") or {}).get("id")

    # Revocation: the token is used (so its answer is cached), revoked in Keystone, and
    # must be refused once the cache has expired.
    revoked, _ = mint("DEMO")
    res = http("GET", servers, revoked)
    check(f"{name}: the token to revoke is accepted first (200)", res.status == 200,
          f"-> {res}")
    if version == "v3":
        rv = http("DELETE", f"{KEYSTONE}/v3/auth/tokens", revoked,
                  headers={"X-Subject-Token": revoked})
    else:
        admin, _ = mint("ADMIN")
        rv = http("DELETE", f"{KEYSTONE}/v2.0/tokens/{revoked}", admin)
    revoked_at = time.time()
    check(f"{name}: Keystone revokes the token (204)", rv.status in (200, 204), f"-> {rv}")
    kv = http("GET", f"{KEYSTONE}/v3/auth/tokens", revoked, headers={"X-Subject-Token": revoked})
    info(f"{name}: Keystone itself now answers {kv.status} for the revoked token")
    res = http("GET", servers, revoked)
    info(f"{name}: within the cache TTL ({CACHE_TTL_MS} ms) the revoked token gets {res.status}"
         " (200 is the documented cached answer)")
    time.sleep(max(0.0, revoked_at + CACHE_TTL_MS / 1000 + 0.5 - time.time()))
    res = http("GET", servers, revoked)
    check(f"{name}: a revoked token is refused once the cache expires (401)",
          res.status == 401, f"{CACHE_TTL_MS} ms after revocation -> {res}")

    res = http("GET", servers, token)
    check(f"{name}: the unrevoked token still works after the cache expires (200)",
          res.status == 200, f"-> {res}")
    return url, proc, server_id


# --- Load Balancer checks -----------------------------------------------------------------

def lb_checks(creds, compute_url):
    admin, _, _ = v3_token(creds["ADMIN_USER"], creds["ADMIN_PASSWORD"], creds["ADMIN_PROJECT"])
    template = register_compute(admin, compute_url)
    info(f"registered service cloudServersOpenStack (type compute), public+internal endpoint "
         f"in {REGION}: {template}")
    token, project, body = v3_token(creds["DEMO_USER"], creds["DEMO_PASSWORD"],
                                    creds["DEMO_PROJECT"])
    wanted = f"{compute_url}/{REGION}/v2/{project}"
    found = [e["url"] for s in body.get("catalog", []) if s.get("type") == "compute"
             for e in s.get("endpoints", []) if e.get("interface") == "public"]
    check("keystone: a project token's catalog lists the compute mock, project filled in",
          wanted in found, f"compute public URLs in the token's catalog: {found}, want {wanted}")

    port = free_port()
    url, proc = start_mock("lb-mock", "lb-v3", port, {
        "UNDERSTUDY__AUTH__REMOTE__VERSION": "v3",
        "UNDERSTUDY__LB__COMPUTE_CACHE_MS": "0",
    })
    wait_ready("lb v3", url)

    base = f"{url}/{REGION}/v1.0/{project}"
    res = http("GET", f"{base}/loadbalancers", token)
    check("lb v3: a valid project-scoped token lists load balancers (200)", res.status == 200,
          f"-> {res}")
    res = http("GET", f"{base}/loadbalancers", "not-a-keystone-token")
    check("lb v3: a bogus token is refused (401)", res.status == 401, f"-> {res}")

    # A server that stays in BUILD for BUILD_TIME_MS: a node on its address must be OFFLINE,
    # then ONLINE once the server is ACTIVE; a node on an address no server has stays ONLINE.
    servers = f"{wanted}/servers"
    images = http("GET", f"{wanted}/images", token)
    image = ((images.json() or {}).get("images") or [{}])[0].get("id")
    created = http("POST", servers, token,
                   {"server": {"name": "lb-backend", "imageRef": image, "flavorRef": "2"}})
    created_at = time.time()
    server_id = ((created.json() or {}).get("server") or {}).get("id")
    detail = http("GET", f"{servers}/{server_id}", token)
    server = (detail.json() or {}).get("server") or {}
    address = next((a.get("addr") for ips in (server.get("addresses") or {}).values()
                    for a in ips if a.get("addr")), None)
    if not check("lb v3: compute gives the backend server an address", bool(address),
                 f"create -> {created}; GET server -> {detail}"):
        stop(proc)
        return
    info(f"backend server {server_id} status {server.get('status')} address {address}")

    res = http("POST", f"{base}/loadbalancers", token, {"loadBalancer": {
        "name": "e2e", "protocol": "HTTP", "port": 80,
        "virtualIps": [{"type": "PUBLIC", "ipVersion": "IPV4"}],
        "nodes": [{"address": address, "port": 80, "condition": "ENABLED"},
                  {"address": "192.0.2.10", "port": 80, "condition": "ENABLED"}]}})
    if not check("lb v3: a balancer is created (202)", res.status == 202, f"-> {res}"):
        stop(proc)
        return
    lb_id = res.json()["loadBalancer"]["id"]

    def statuses():
        r = http("GET", f"{base}/loadbalancers/{lb_id}/nodes", token)
        return r, {n["address"]: n["status"] for n in (r.json() or {}).get("nodes", [])}

    r, st = statuses()
    server_now = (http("GET", f"{servers}/{server_id}", token).json() or {}).get(
        "server", {}).get("status")
    offline = st.get(address) == "OFFLINE"
    check("lb v3: finds Compute through Keystone: a node on a BUILD server is OFFLINE",
          offline,
          f"server {server_id} is {server_now}; GET nodes -> {r}"
          + "".join(f"\n      lb log: {line}" for line in log_lines("lb-v3", "compute")))
    check("lb v3: a node on an address no server has is ONLINE",
          st.get("192.0.2.10") == "ONLINE", f"GET nodes -> {r}")

    time.sleep(max(0.0, created_at + BUILD_TIME_MS / 1000 + 1.0 - time.time()))
    server_now = (http("GET", f"{servers}/{server_id}", token).json() or {}).get(
        "server", {}).get("status")
    r, st = statuses()
    # Only a node seen OFFLINE first shows that it follows the server.
    check("lb v3: the node follows the server: OFFLINE while BUILD, ONLINE once ACTIVE",
          offline and server_now == "ACTIVE" and st.get(address) == "ONLINE",
          f"seen OFFLINE while BUILD: {offline}; server {server_id} is now {server_now}; "
          f"GET nodes -> {r}")
    stop(proc)


def log_lines(label, word, n=3):
    """The last n lines of a mock's log that mention `word`."""
    try:
        lines = open(os.path.join(WORKDIR, f"{label}.log"), errors="replace").read().splitlines()
    except OSError:
        return []
    return [line.strip() for line in lines if word in line][-n:]


def v2_mode_beside_v3_only(creds):
    """Not a check: what a Compute in v2 mode answers beside a Keystone without /v2.0."""
    port = free_port()
    url, proc = start_mock("compute-mock", "compute-v2-mode", port,
                           {"UNDERSTUDY__AUTH__REMOTE__VERSION": "v2"})
    token, project, _ = v3_token(creds["DEMO_USER"], creds["DEMO_PASSWORD"],
                                 creds["DEMO_PROJECT"])
    res = http("GET", f"{url}/{REGION}/v2/{project}/servers", token)
    info(f"compute in v2 mode beside this v3-only Keystone answers a valid token with {res}")
    stop(proc)


# --- main ---------------------------------------------------------------------------------

def main():
    os.makedirs(WORKDIR, exist_ok=True)
    info(f"keystone {KEYSTONE}; binaries {BIN_DIR}; logs in {WORKDIR}")
    for b in ("compute-mock", "lb-mock"):
        if not os.access(os.path.join(BIN_DIR, b), os.X_OK):
            check(f"binary {b} exists in {BIN_DIR}", False, "not found or not executable")
    creds = credentials()
    if "KEYSTONE_VERSION" in creds:
        info(f"keystone package version {creds['KEYSTONE_VERSION']}")
    res = http("GET", f"{KEYSTONE}/v3")
    check("keystone: GET /v3 answers 200", res.status == 200, f"-> {res}")
    if FAILED:
        return

    def mint_v3(label):
        t, p, _ = v3_token(creds[f"{label}_USER"], creds[f"{label}_PASSWORD"],
                           creds[f"{label}_PROJECT"])
        return t, p

    compute_url = None
    compute_proc = None
    try:
        compute_url, compute_proc, _ = compute_checks("v3", creds, mint_v3)
    except Exception as e:  # a setup step failed: count it, keep going
        check("compute v3: setup", False, repr(e))

    v2 = http("GET", f"{KEYSTONE}/v2.0")
    if v2.status == 200:
        info("this Keystone serves /v2.0: running the v2 checks too")

        def mint_v2(label):
            return v2_token(creds[f"{label}_USER"], creds[f"{label}_PASSWORD"],
                            creds[f"{label}_PROJECT"])
        try:
            _, proc, _ = compute_checks("v2", creds, mint_v2)
            stop(proc)
        except Exception as e:
            check("compute v2: setup", False, repr(e))
    else:
        skip("compute v2 checks", f"this Keystone does not serve /v2.0 (GET /v2.0 -> {v2.status})")
        try:
            v2_mode_beside_v3_only(creds)
        except Exception as e:
            info(f"compute in v2 mode beside this v3-only Keystone: {e!r}")

    if compute_url:
        try:
            lb_checks(creds, compute_url)
        except Exception as e:
            check("lb v3: setup", False, repr(e))
    else:
        skip("lb checks", "no compute mock running")
    if compute_proc:
        stop(compute_proc)


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # a broken setup is a failure, reported like the others
        check("setup", False, repr(e))
    finally:
        for p in PROCS:
            stop(p)
        print(f"keystone: {len(PASSED)} passed, {len(FAILED)} failed", flush=True)
    sys.exit(1 if FAILED else 0)
