#!/usr/bin/env python3
"""Checks the Kubernetes manifests of deploy/kubernetes, offline (run by deploy/validate.sh).

1. kustomization.yaml: every listed file exists, every YAML file is listed, every `images`
   entry names an image some container uses.
2. Every resource of every listed file against the Kubernetes OpenAPI schema of one pinned
   version, strictly (unknown fields are errors), with the schemas kubernetes-validate ships.
   A kind with no schema is an error too (kubernetes-validate itself only warns).
3. What the schema cannot see: each Deployment's selector matches its pod labels, every
   probe names a port its container exposes, the mocks probe /_understudy/v1/ready and
   /_understudy/v1/health and listen where UNDERSTUDY__SERVER__PORT says, each Service
   selects exactly one Deployment on a port it exposes, every ConfigMap referenced exists
   (with the key a --config path names), and every URL the mocks are given (the store,
   Identity, the catalog's internal URLs) names a Service and a port it exposes. The
   catalog's services match docker/stack.toml's (names, types, public URLs, paths).
4. Where `kubectl` or `kustomize` is installed: the kustomization renders, and the rendered
   resources pass 2 and 3 again.
5. --self-test: an unchanged copy in a temporary folder passes, and each of a list of
   deliberately broken copies fails; this script, run on a broken copy, exits non-zero.

Prints one line per check and ends with "kubernetes: N passed, M failed"; exits 1 when
anything failed.
"""

import argparse
import copy
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import yaml

try:
    import kubernetes_validate.utils as kv
except ImportError:  # pragma: no cover - validate.sh installs it
    sys.exit("kubernetes-validate is not installed: run deploy/validate.sh")

MOCK_IMAGE_PREFIX = "understudy/"
READY_PATH = "/_understudy/v1/ready"
HEALTH_PATH = "/_understudy/v1/health"
PROBES = ("readinessProbe", "livenessProbe", "startupProbe")


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""


class Checks(list):
    def add(self, name, ok, detail=""):
        self.append(Check(name, bool(ok), detail))
        return ok

    def failed(self):
        return [c for c in self if not c.ok]


# ---------------------------------------------------------------- loading


def load_docs(text):
    return [d for d in yaml.safe_load_all(text) if d]


def kn(res):
    meta = res.get("metadata") or {}
    return f"{str(res.get('kind', '?')).lower()}/{meta.get('name', '?')}"


def check_kustomization(directory, checks):
    """The kustomization's own checks; returns [(file name, [resources])] of the files that load."""
    kfile = directory / "kustomization.yaml"
    try:
        kust = yaml.safe_load(kfile.read_text())
        ok = isinstance(kust, dict) and kust.get("kind") == "Kustomization"
        checks.add("kustomization.yaml parses (kind Kustomization)", ok, "" if ok else "not a Kustomization")
    except (OSError, yaml.YAMLError) as e:
        checks.add("kustomization.yaml parses (kind Kustomization)", False, str(e))
        return None, []
    if not ok:
        return None, []
    listed = kust.get("resources") or []
    checks.add("kustomization.yaml lists resources", bool(listed), "no resources")
    loaded = []
    for entry in listed:
        path = directory / entry
        if not checks.add(f"listed file exists: {entry}", path.is_file(), f"{path} is not a file"):
            continue
        try:
            docs = load_docs(path.read_text())
        except yaml.YAMLError as e:
            checks.add(f"{entry}: YAML parses", False, str(e).replace("\n", " "))
            continue
        bad = [d for d in docs if not isinstance(d, dict) or "kind" not in d or "apiVersion" not in d]
        if not checks.add(f"{entry}: YAML parses, {len(docs)} resource(s)", docs and not bad,
                          "a document without kind/apiVersion" if bad else "no resources"):
            continue
        loaded.append((entry, docs))
    yamls = sorted(p.name for p in directory.glob("*.y*ml") if p.name != "kustomization.yaml")
    orphans = [y for y in yamls if y not in listed]
    checks.add("every YAML file in the folder is listed in kustomization.yaml", not orphans,
               f"not listed: {', '.join(orphans)}")
    return kust, loaded


def check_schema(label, resources, version, checks):
    for res in resources:
        name = f"{label} {kn(res)}: valid against Kubernetes {version} (strict)"
        try:
            got = kv.validate(res, version, strict=True)
            checks.add(name + f" [schema {got}]", True)
        except kv.ValidationError as e:
            path = ".".join(str(p) for p in e.path)
            checks.add(name, False, f"{path}: {e.message}")
        except kv.SchemaNotFoundError as e:
            checks.add(name, False, e.message)
        except Exception as e:  # noqa: BLE001 - any failure to validate is a failure
            checks.add(name, False, f"{type(e).__name__}: {e}")


def check_images(kust, resources, checks):
    used = {c.get("image", "").rsplit(":", 1)[0] for _, c in containers_of(resources)}
    for entry in kust.get("images") or []:
        name = entry.get("name")
        checks.add(f"kustomization image {name} is used by a container", name in used,
                   f"no container runs {name} (used: {', '.join(sorted(used))})")


# ---------------------------------------------------------------- cross-checks


def by_kind(resources, kind):
    return [r for r in resources if r.get("kind") == kind]


def containers_of(resources):
    for d in by_kind(resources, "Deployment"):
        spec = (((d.get("spec") or {}).get("template") or {}).get("spec") or {})
        for c in spec.get("containers") or []:
            yield d, c


def port_matches(port, container_ports):
    """A probe's or targetPort's port (a number or a name) against a container's ports."""
    for p in container_ports:
        if isinstance(port, int) and p.get("containerPort") == port:
            return True
        if isinstance(port, str) and p.get("name") == port:
            return True
    return False


def env_of(container, configmaps):
    """The container's environment: envFrom ConfigMaps, then env (later wins, as in Kubernetes)."""
    env = {}
    for src in container.get("envFrom") or []:
        ref = (src.get("configMapRef") or {}).get("name")
        if ref in configmaps:
            env.update({k: str(v) for k, v in (configmaps[ref].get("data") or {}).items()})
    for e in container.get("env") or []:
        if "value" in e:
            env[e["name"]] = str(e["value"])
    return env


def subset(small, big):
    return bool(small) and all((big or {}).get(k) == v for k, v in small.items())


def pod_labels(dep):
    return ((((dep.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {})


def cross_checks(label, resources, checks, stack_toml=None):
    deployments = {d["metadata"]["name"]: d for d in by_kind(resources, "Deployment")}
    services = {s["metadata"]["name"]: s for s in by_kind(resources, "Service")}
    configmaps = {c["metadata"]["name"]: c for c in by_kind(resources, "ConfigMap")}

    keys = [(r.get("kind"), (r.get("metadata") or {}).get("name")) for r in resources]
    dupes = sorted({f"{k}/{n}" for k, n in keys if keys.count((k, n)) > 1})
    checks.add(f"{label} no resource is defined twice", not dupes, ", ".join(dupes))

    def service_target(svc):
        """The Deployments a Service selects."""
        sel = (svc.get("spec") or {}).get("selector") or {}
        return [d for d in deployments.values() if subset(sel, pod_labels(d))]

    def url_reaches(url):
        """'' if a URL's host and port are a Service's, with a ready Deployment behind it; else why not."""
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
        if port is None:
            port = {"http": 80, "https": 443, "redis": 6379}.get(parts.scheme)
        svc = services.get(host)
        if svc is None:
            return f"{url}: no Service named {host!r}"
        ports = [p.get("port") for p in (svc.get("spec") or {}).get("ports") or []]
        if port not in ports:
            return f"{url}: Service {host} exposes {ports}, not {port}"
        if len(service_target(svc)) != 1:
            return f"{url}: Service {host} selects no Deployment"
        return ""

    for name, d in deployments.items():
        spec = d.get("spec") or {}
        sel = (spec.get("selector") or {}).get("matchLabels") or {}
        checks.add(f"{label} deployment/{name}: selector matches its pod labels",
                   subset(sel, pod_labels(d)), f"selector {sel} vs labels {pod_labels(d)}")
        pod = (spec.get("template") or {}).get("spec") or {}
        volumes = {v.get("name"): v for v in pod.get("volumes") or []}
        for v in volumes.values():
            ref = (v.get("configMap") or {}).get("name")
            if ref is not None:
                checks.add(f"{label} deployment/{name}: volume {v['name']} names an existing ConfigMap",
                           ref in configmaps, f"no ConfigMap {ref}")
        for c in pod.get("containers") or []:
            cname = f"{label} deployment/{name} container {c.get('name')}"
            cports = c.get("ports") or []
            for probe in PROBES:
                p = c.get(probe)
                if not p:
                    continue
                handler = p.get("httpGet") or p.get("tcpSocket") or p.get("grpc")
                if handler is None:
                    continue  # exec: nothing to point at
                checks.add(f"{cname}: {probe} port {handler.get('port')!r} is one the container exposes",
                           port_matches(handler.get("port"), cports),
                           f"exposed: {[(p.get('name'), p.get('containerPort')) for p in cports]}")
            for src in c.get("envFrom") or []:
                ref = (src.get("configMapRef") or {}).get("name")
                if ref is not None:
                    checks.add(f"{cname}: envFrom ConfigMap {ref} exists", ref in configmaps,
                               f"no ConfigMap {ref}")
            if not str(c.get("image", "")).startswith(MOCK_IMAGE_PREFIX):
                continue
            # An Understudy mock.
            checks.add(f"{cname}: imagePullPolicy IfNotPresent", c.get("imagePullPolicy") == "IfNotPresent",
                       f"imagePullPolicy is {c.get('imagePullPolicy')!r}")
            ready = ((c.get("readinessProbe") or {}).get("httpGet") or {}).get("path")
            live = ((c.get("livenessProbe") or {}).get("httpGet") or {}).get("path")
            checks.add(f"{cname}: readiness probes {READY_PATH}", ready == READY_PATH, f"path is {ready!r}")
            checks.add(f"{cname}: liveness probes {HEALTH_PATH}", live == HEALTH_PATH, f"path is {live!r}")
            env = env_of(c, configmaps)
            port = env.get("UNDERSTUDY__SERVER__PORT")
            checks.add(f"{cname}: listens (UNDERSTUDY__SERVER__PORT={port}) on an exposed port",
                       port is not None and port.isdigit() and port_matches(int(port), cports),
                       f"exposed: {[p.get('containerPort') for p in cports]}")
            checks.add(f"{cname}: binds 0.0.0.0", env.get("UNDERSTUDY__SERVER__HOST") == "0.0.0.0",
                       f"UNDERSTUDY__SERVER__HOST is {env.get('UNDERSTUDY__SERVER__HOST')!r}")
            backend = env.get("UNDERSTUDY__STORE__BACKEND")
            url = env.get("UNDERSTUDY__STORE__URL", "")
            why = url_reaches(url) if url else "UNDERSTUDY__STORE__URL is not set"
            checks.add(f"{cname}: store is redis at a Service ({url})",
                       backend == "redis" and not why, why or f"backend is {backend!r}")
            checks.add(f"{cname}: UNDERSTUDY__STORE__NAMESPACE is set",
                       bool(env.get("UNDERSTUDY__STORE__NAMESPACE")), "not set")
            args = [str(a) for a in (c.get("args") or []) + (c.get("command") or [])]
            if "--config" in args:
                check_config_arg(cname, args[args.index("--config") + 1:][:1], c, volumes, configmaps,
                                 url_reaches, checks, stack_toml, deployments, services, name, service_target)
            else:
                idurl = env.get("UNDERSTUDY__CATALOG__IDENTITY_URL")
                why = url_reaches(idurl) if idurl else "UNDERSTUDY__CATALOG__IDENTITY_URL is not set"
                checks.add(f"{cname}: finds Identity at a Service ({idurl})", not why, why)

    for name, s in services.items():
        spec = s.get("spec") or {}
        targets = service_target(s)
        if not checks.add(f"{label} service/{name}: selector matches exactly one Deployment's pods",
                          len(targets) == 1,
                          f"selector {spec.get('selector')} matches {[t['metadata']['name'] for t in targets]}"):
            continue
        cports = [p for _, c in containers_of(targets) for p in c.get("ports") or []]
        for p in spec.get("ports") or []:
            target = p.get("targetPort", p.get("port"))
            checks.add(f"{label} service/{name}: port {p.get('port')} -> {target!r} is one its pods expose",
                       port_matches(target, cports),
                       f"exposed: {[(q.get('name'), q.get('containerPort')) for q in cports]}")


def check_config_arg(cname, path_arg, container, volumes, configmaps, url_reaches, checks,
                     stack_toml, deployments, services, dep_name, service_target):
    """A --config PATH must be a key of a ConfigMap mounted at its folder; its catalog must name Services."""
    if not checks.add(f"{cname}: --config has a path", bool(path_arg), "--config without a path"):
        return
    path = path_arg[0]
    folder, key = os.path.dirname(path), os.path.basename(path)
    text = None
    for m in container.get("volumeMounts") or []:
        if m.get("mountPath", "").rstrip("/") == folder and m.get("name") in volumes:
            ref = (volumes[m["name"]].get("configMap") or {}).get("name")
            text = ((configmaps.get(ref) or {}).get("data") or {}).get(key)
    if not checks.add(f"{cname}: --config {path} is a key of a mounted ConfigMap", text is not None,
                      f"no ConfigMap volume mounted at {folder} with key {key}"):
        return
    try:
        settings = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        checks.add(f"{cname}: {path} parses as TOML", False, str(e))
        return
    checks.add(f"{cname}: {path} parses as TOML", True)
    catalog = settings.get("catalog") or {}
    idurl = catalog.get("identity_url", "")
    why = url_reaches(idurl) or ""
    if not why:
        svc = services[urlsplit(idurl).hostname]
        if [t["metadata"]["name"] for t in service_target(svc)] != [dep_name]:
            why = f"{idurl} reaches another Deployment than {dep_name}, which serves this catalog"
    checks.add(f"{cname}: catalog.identity_url {idurl} is this Deployment's Service", not why, why)
    entries = catalog.get("services") or []
    checks.add(f"{cname}: the catalog lists services", bool(entries), "catalog.services is empty")
    for e in entries:
        if e.get("external"):
            continue
        url = e.get("internal_url")
        why = url_reaches(url) if url else "no internal_url: the mocks would use the public URL in the cluster"
        checks.add(f"{cname}: catalog {e.get('name')} internal_url names a Service ({url})", not why, why)
    if stack_toml is not None:
        compare_with_compose(cname, entries, stack_toml, checks)


def compare_with_compose(cname, entries, stack_toml, checks):
    """Same services as docker/stack.toml: names, types, public URLs, external, internal paths."""
    def shape(e):
        internal = e.get("internal_url")
        return (e.get("name"), e.get("type"), e.get("public_url"), bool(e.get("external")),
                urlsplit(internal).path if internal else None)
    theirs = [shape(e) for e in (tomllib.loads(stack_toml.read_text()).get("catalog") or {}).get("services", [])]
    ours = [shape(e) for e in entries]
    diff = [s for s in ours if s not in theirs] + [s for s in theirs if s not in ours]
    checks.add(f"{cname}: catalog services match {stack_toml.name} (names, types, public URLs, paths)",
               not diff, f"differ: {diff}")


# ---------------------------------------------------------------- rendering


def kustomize_command():
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


def render(directory, checks):
    cmd = kustomize_command()
    if cmd is None:
        return None
    try:
        out = subprocess.run(cmd + [str(directory)], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        checks.add(f"kustomization renders ({' '.join(cmd)})", False, str(e))
        return None
    if not checks.add(f"kustomization renders ({' '.join(cmd)})", out.returncode == 0,
                      out.stderr.strip().replace("\n", " ")):
        return None
    return load_docs(out.stdout)


# ---------------------------------------------------------------- one folder


def check_dir(directory, version, stack_toml, do_render):
    checks = Checks()
    kust, loaded = check_kustomization(directory, checks)
    resources = [r for _, docs in loaded for r in docs]
    for entry, docs in loaded:
        check_schema(entry, docs, version, checks)
    if kust is not None:
        check_images(kust, resources, checks)
    cross_checks("files:", resources, checks, stack_toml)
    if do_render and kust is not None:
        rendered = render(directory, checks)
        if rendered is not None:
            listed = sorted(kn(r) for r in resources)
            got = sorted(kn(r) for r in rendered)
            checks.add("rendered: the same resources as the listed files", listed == got,
                       f"files {listed} vs rendered {got}")
            check_schema("rendered:", rendered, version, checks)
            cross_checks("rendered:", rendered, checks, stack_toml)
    return checks


# ---------------------------------------------------------------- self-test


def edit_yaml(directory, filename, fn):
    path = directory / filename
    docs = load_docs(path.read_text())
    fn(docs)
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))


def doc(docs, kind):
    return next(d for d in docs if d["kind"] == kind)


def container(docs):
    return doc(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]


def set_(obj, path, value):
    for key in path[:-1]:
        obj = obj[key]
    obj[path[-1]] = value


def cm_replace(old, new):
    def fn(docs):
        data = doc(docs, "ConfigMap")["data"]
        for k, v in data.items():
            data[k] = v.replace(old, new)
    return fn


# (what is broken, file, edit, a word the failing check's name must contain)
BREAKAGES = [
    ("replicas is a string", "compute.yaml",
     lambda d: set_(doc(d, "Deployment"), ["spec", "replicas"], "three"), "valid against"),
    ("an unknown field (readinessprobe)", "lb.yaml",
     lambda d: container(d).update(readinessprobe=container(d).pop("readinessProbe")), "valid against"),
    ("a kind with no schema (Deploymnet)", "redis.yaml",
     lambda d: set_(doc(d, "Deployment"), ["kind"], "Deploymnet"), "valid against"),
    ("an env value that is a number, not a string", "identity.yaml",
     lambda d: set_(container(d)["env"][0], ["value"], 5000), "valid against"),
    ("the readiness probe on a port not exposed", "identity.yaml",
     lambda d: set_(container(d)["readinessProbe"]["httpGet"], ["port"], 8080), "readinessProbe port"),
    ("the liveness probe on a wrong path", "compute.yaml",
     lambda d: set_(container(d)["livenessProbe"]["httpGet"], ["path"], "/healthz"), "liveness probes"),
    ("a Service selector matching no Deployment", "compute.yaml",
     lambda d: set_(doc(d, "Service")["spec"]["selector"], ["app.kubernetes.io/name"], "computer"), "selector"),
    ("a Service targetPort no pod exposes", "lb.yaml",
     lambda d: set_(doc(d, "Service")["spec"]["ports"][0], ["targetPort"], "https"), "service/lb: port"),
    ("the server port differs from the container port", "lb.yaml",
     lambda d: set_(container(d)["env"][0], ["value"], "9877"), "listens"),
    ("the store URL on a port the redis Service does not expose", "settings-configmap.yaml",
     cm_replace("redis:6379", "redis:6380"), "store is redis"),
    ("a catalog internal URL naming no Service", "catalog-configmap.yaml",
     cm_replace("http://lb:9876", "http://loadbalancer:9876"), "internal_url"),
    ("Compute looking for Identity at no Service", "compute.yaml",
     lambda d: set_(container(d)["env"][1], ["value"], "http://keystone:5000"), "finds Identity"),
    ("a listed file missing", "kustomization.yaml",
     lambda d: d[0]["resources"].append("missing.yaml"), "listed file exists"),
]


def self_test(directory, version, stack_toml, do_render, script_args):
    checks = Checks()
    with tempfile.TemporaryDirectory(prefix="understudy-k8s-selftest-") as tmp:
        good = Path(tmp) / "unchanged"
        shutil.copytree(directory, good)
        failed = check_dir(good, version, stack_toml, do_render).failed()
        checks.add("self-test: an unchanged copy passes", not failed,
                   "; ".join(f"{c.name}: {c.detail}" for c in failed[:3]))
        for i, (what, filename, fn, word) in enumerate(BREAKAGES):
            broken = Path(tmp) / f"broken-{i}"
            shutil.copytree(directory, broken)
            edit_yaml(broken, filename, fn)
            failed = check_dir(broken, version, stack_toml, do_render).failed()
            caught = [c for c in failed if word in c.name]
            checks.add(f"self-test: a broken copy fails ({what} in {filename})", bool(caught),
                       "no check failed" if not failed else
                       f"failed, but not the expected check ({word!r}): {failed[0].name}")
        # The whole script, as CI runs it, on a broken copy: a non-zero exit and the failure counted.
        broken = Path(tmp) / "broken-0"
        out = subprocess.run([sys.executable, __file__, "--dir", str(broken)] + script_args,
                             capture_output=True, text=True, timeout=600)
        last = (out.stdout.strip().splitlines() or [""])[-1]
        checks.add(f"self-test: this script exits non-zero on a broken copy (exit {out.returncode}, {last!r})",
                   out.returncode == 1 and last.startswith("kubernetes: ") and not last.endswith(" 0 failed"),
                   out.stdout[-500:] + out.stderr[-500:])
    return checks


# ---------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, required=True, help="the folder with kustomization.yaml")
    ap.add_argument("--kubernetes-version", default="1.30.0")
    ap.add_argument("--stack-toml", type=Path, help="docker/stack.toml, to compare the catalog with")
    ap.add_argument("--no-render", action="store_true", help="do not render with kubectl/kustomize")
    ap.add_argument("--self-test", action="store_true", help="also prove that broken copies fail")
    ap.add_argument("--verbose", action="store_true", help="print every check, not only failures")
    a = ap.parse_args()

    do_render = not a.no_render
    print(f"kubernetes-validate {kv.__version__}, schemas of Kubernetes {a.kubernetes_version} "
          f"(bundled versions {kv.all_versions()[0]}..{kv.latest_version()}), strict")
    cmd = kustomize_command()
    print(f"renderer: {' '.join(cmd) if cmd and do_render else 'none (files only)'}")
    checks = check_dir(a.dir, a.kubernetes_version, a.stack_toml, do_render)
    if a.self_test:
        args = ["--kubernetes-version", a.kubernetes_version] + (["--no-render"] if a.no_render else [])
        if a.stack_toml:
            args += ["--stack-toml", str(a.stack_toml)]
        checks += self_test(a.dir, a.kubernetes_version, a.stack_toml, do_render, args)
    # Every failure; every self-test line (the proof that failures are caught); the rest
    # with --verbose, else as a count per group.
    groups = {}
    for c in checks:
        group = "self-test" if c.name.startswith("self-test:") else (
            "schema" if "valid against" in c.name else "rendered" if c.name.startswith("rendered:")
            else "cross-checks" if c.name.startswith("files:") else "kustomization")
        groups.setdefault(group, [0, 0])[0 if c.ok else 1] += 1
        if not c.ok:
            print(f"FAIL {c.name}: {c.detail}")
        elif a.verbose or group == "self-test":
            print(f"ok   {c.name}")
    for group, (ok, bad) in groups.items():
        print(f"  {group}: {ok} passed, {bad} failed")
    failed = len(checks.failed())
    print(f"kubernetes: {len(checks) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
