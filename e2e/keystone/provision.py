"""Create the test projects and users in a fresh Keystone; print them as shell assignments.

    provision.py KEYSTONE_URL ADMIN_USER ADMIN_PASSWORD ADMIN_PROJECT

Projects `understudy-demo` and `understudy-other`, each with one user of the same name holding
the `member` role on it (the admin user also gets `member` on the admin project). Idempotent:
existing ones are reused. Standard library only.
"""

import json
import sys
import urllib.error
import urllib.request

URL, ADMIN_USER, ADMIN_PASSWORD, ADMIN_PROJECT = sys.argv[1:5]
PASSWORD = "understudy-pw"


def call(method, path, token=None, body=None, expect=(200, 201, 204)):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(URL + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("X-Auth-Token", token)
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            status, headers, raw = res.status, res.headers, res.read()
    except urllib.error.HTTPError as e:
        status, headers, raw = e.code, e.headers, e.read()
    if status not in expect:
        sys.exit(f"provision: {method} {path} answered {status}: {raw[:500]!r}")
    return status, headers, (json.loads(raw) if raw else None)


def admin_token():
    _, headers, _ = call("POST", "/v3/auth/tokens", body={"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": ADMIN_USER, "domain": {"id": "default"}, "password": ADMIN_PASSWORD}}},
        "scope": {"project": {"name": ADMIN_PROJECT, "domain": {"id": "default"}}}}})
    return headers["X-Subject-Token"]


def find(token, collection, name):
    _, _, body = call("GET", f"/v3/{collection}?name={name}", token)
    items = body[collection]
    return items[0]["id"] if items else None


def ensure(token, collection, kind, body):
    existing = find(token, collection, body["name"])
    if existing:
        return existing
    _, _, created = call("POST", f"/v3/{collection}", token, {kind: body})
    return created[kind]["id"]


def main():
    token = admin_token()
    member = find(token, "roles", "member")
    if not member:
        sys.exit("provision: no member role (bootstrap should create it)")
    admin_project = find(token, "projects", ADMIN_PROJECT)
    admin_user = find(token, "users", ADMIN_USER)
    call("PUT", f"/v3/projects/{admin_project}/users/{admin_user}/roles/{member}", token)
    out = {
        "ADMIN_USER": ADMIN_USER,
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "ADMIN_PROJECT": ADMIN_PROJECT,
        "ADMIN_PROJECT_ID": admin_project,
    }
    for label, name in (("DEMO", "understudy-demo"), ("OTHER", "understudy-other")):
        project = ensure(token, "projects", "project",
                         {"name": name, "domain_id": "default", "enabled": True,
                          "description": "Understudy e2e"})
        user = ensure(token, "users", "user",
                      {"name": name, "domain_id": "default", "enabled": True,
                       "password": PASSWORD, "default_project_id": project})
        call("PUT", f"/v3/projects/{project}/users/{user}/roles/{member}", token)
        out.update({f"{label}_USER": name, f"{label}_PASSWORD": PASSWORD,
                    f"{label}_PROJECT": name, f"{label}_PROJECT_ID": project,
                    f"{label}_USER_ID": user})
    for k, v in out.items():
        print(f"{k}={v}")


if __name__ == "__main__":
    main()
