#!/usr/bin/env python3
"""The console (GET /_understudy/ui/) driven in a real headless Chromium with Selenium.

    python3 test_console.py IDENTITY_URL COMPUTE_URL LB_URL [--screenshots DIR] [--only a,b] [--skip c] [-v]

run.sh starts the stack and calls this with the venv's Python. The page is opened from the
Compute mock; the API calls the checks make (tokens, servers, balancers, flavors) go
through urllib, as any client's would, and the checks then watch the page change without
a reload. Prints `PASS name` / `FAIL name: detail` per check, then
`console: N passed, M failed`; exits 1 on any failure.

Environment: CHROMIUM (default /usr/bin/chromium), CHROMEDRIVER (default
/usr/bin/chromedriver). Selenium Manager is kept offline (SE_OFFLINE): the driver's path
is given, nothing is downloaded.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
import traceback
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone

os.environ.setdefault("SE_OFFLINE", "true")

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import (  # noqa: E402
    NoAlertPresentException,
    StaleElementReferenceException,
    UnexpectedAlertPresentException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402

CONTROL = "/_understudy/v1"
UI = "/_understudy/ui/"
PANELS = ("requests", "faults", "clock", "state")
# How long the page may take to show a change: the events are checked twice a second,
# then the four panels are fetched again.
LIVE_TIMEOUT = 5.0

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class CheckFailed(Exception):
    pass


def ensure(cond, detail):
    if not cond:
        raise CheckFailed(detail)


# ---------------------------------------------------------------------------- the API


class Response:
    def __init__(self, method, url, status, raw):
        self.method, self.url, self.status, self.raw = method, url, status, raw
        try:
            self.json = json.loads(raw) if raw else None
        except ValueError:
            self.json = None

    def describe(self):
        return f"{self.method} {self.url} -> {self.status} {self.raw[:300].decode('utf-8', 'replace')!r}"


def call(method, url, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Accept", "application/json")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("X-Auth-Token", token)
    try:
        with _OPENER.open(req, timeout=30) as res:
            return Response(method, url, res.status, res.read())
    except urllib.error.HTTPError as e:
        return Response(method, url, e.code, e.read())


def expect(resp, *statuses, what=""):
    if resp.status not in statuses:
        raise CheckFailed(f"{what}: expected {'/'.join(map(str, statuses))}, got {resp.describe()}")
    return resp


class Stack:
    def __init__(self, identity, compute, lb):
        self.identity, self.compute, self.lb = identity, compute, lb
        # A tenant and user of this run's own, so a stack that was used before does not get
        # in the way (a user's tenant is settled once it was seen).
        self.tenant = "con" + uuid.uuid4().hex[:8]
        self._token = None
        self._image = None

    def token(self):
        if self._token is None:
            r = expect(
                call("POST", f"{self.identity}/v2.0/tokens", {"auth": {
                    "passwordCredentials": {"username": "user-" + self.tenant, "password": "secret"},
                    "tenantId": self.tenant}}),
                200, 203, what="POST /v2.0/tokens")
            self._token = r.json["access"]["token"]["id"]
        return self._token

    def image(self):
        if self._image is None:
            r = expect(call("GET", f"{self.compute}/v2/{self.tenant}/images", token=self.token()),
                       200, what="GET images")
            ensure(r.json and r.json.get("images"), f"no images: {r.describe()}")
            self._image = r.json["images"][0]["id"]
        return self._image

    def create_server(self, name, metadata=None):
        server = {"name": name, "imageRef": self.image(), "flavorRef": "2"}
        if metadata:
            server["metadata"] = metadata
        r = expect(call("POST", f"{self.compute}/v2/{self.tenant}/servers", {"server": server},
                        token=self.token()),
                   202, what="POST servers")
        return r.json["server"]["id"]

    def create_balancer(self, name):
        r = expect(call("POST", f"{self.lb}/v1.0/{self.tenant}/loadbalancers", {"loadBalancer": {
            "name": name, "protocol": "HTTP", "port": 80, "virtualIps": [{"type": "PUBLIC"}],
            "nodes": [{"address": "10.0.0.1", "port": 80, "condition": "ENABLED"}]}},
            token=self.token()),
            202, what="POST loadbalancers")
        return r.json["loadBalancer"]["id"]

    def clean(self):
        """Every mock reset, every rule of the stack deleted, the clock back to wall time."""
        for base in (self.identity, self.compute, self.lb):
            expect(call("POST", f"{base}{CONTROL}/reset"), 200, 204, what="reset")
        expect(call("DELETE", f"{self.compute}{CONTROL}/faults?scope=stack"), 200, 204,
               what="delete faults")
        expect(call("POST", f"{self.identity}{CONTROL}/clock/reset"), 200, 204, what="clock reset")
        self._token = self._image = None


# ---------------------------------------------------------------------------- the browser


def start_browser():
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    for arg in ("--headless=new", "--disable-gpu", "--window-size=1400,1000",
                "--disable-dev-shm-usage", "--no-proxy-server", "--no-first-run"):
        options.add_argument(arg)
    if os.geteuid() == 0:
        options.add_argument("--no-sandbox")  # Chromium refuses to start as root otherwise
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    return webdriver.Chrome(service=service, options=options)


class Console:
    """The page in the browser, and what the checks read off it."""

    def __init__(self, driver, url, shots):
        self.d, self.url, self.shots = driver, url, shots
        self.logs = []  # every browser console entry seen, for the report

    def open(self):
        self.d.get(self.url)
        self.d.execute_script("window.__marker = 1;")

    def ensure_open(self):
        """The page, loaded if this check is the first to use it."""
        if not self.d.current_url.startswith(self.url):
            self.open()
            self.wait_panels_filled()
        elif self.d.execute_script("return window.__marker") != 1:
            self.d.execute_script("window.__marker = 1;")

    def not_reloaded(self):
        ensure(self.d.execute_script("return window.__marker") == 1,
               "the page was reloaded (window.__marker is gone)")

    def js(self, script, *args):
        return self.d.execute_script(script, *args)

    def text(self, element_id):
        return self.js("const e = document.getElementById(arguments[0]); return e ? e.innerText : null;",
                       element_id)

    def html(self, element_id):
        return self.js("return document.getElementById(arguments[0]).innerHTML;", element_id)

    def wait(self, what, fn, timeout=LIVE_TIMEOUT):
        """fn() until it returns something true (returned), or CheckFailed naming `what`."""
        deadline = time.monotonic() + timeout
        last = None
        while True:
            try:
                last = fn()
                if last:
                    return last
            except (StaleElementReferenceException, CheckFailed) as e:
                last = e
            if time.monotonic() > deadline:
                raise CheckFailed(f"{what} (not within {timeout:g} s; last: {str(last)[:300]!r})")
            time.sleep(0.1)

    def wait_panels_filled(self, timeout=LIVE_TIMEOUT):
        def filled():
            texts = {p: (self.text(p) or "").strip() for p in PANELS}
            return all(t and t != "…" and "…" not in t for t in texts.values()) and texts
        return self.wait("all four panels filled in", filled, timeout)

    def click(self, css):
        """Click the element `css` finds, again if a panel refresh replaced it meanwhile."""
        for attempt in range(5):
            try:
                self.d.find_element(By.CSS_SELECTOR, css).click()
                return
            except StaleElementReferenceException:
                if attempt == 4:
                    raise
                time.sleep(0.1)

    def type_rule(self, rule_text):
        box = self.d.find_element(By.ID, "fault-json")
        box.clear()
        box.send_keys(rule_text)

    def request_row(self, method, path, status=None):
        """The data-key of the newest Requests row for METHOD PATH (and status), or None."""
        return self.js("""
            const [method, path, status] = arguments;
            for (const d of document.querySelectorAll('#requests details.entry')) {
              const m = d.querySelector('summary .method'), p = d.querySelector('summary .path');
              if (m && p && m.textContent === method && p.textContent === path
                  && (status === null || d.dataset.status === String(status))) return d.dataset.key;
            }
            return null;""", method, path, status)

    def drain_logs(self):
        entries = self.d.get_log("browser")
        self.logs.extend(entries)
        return entries

    def screenshot(self, name, full_page=True):
        os.makedirs(self.shots, exist_ok=True)
        path = os.path.join(self.shots, name)
        if full_page:
            # The whole document, beyond the 1400x1000 window (DevTools' capture).
            size = self.js("return [document.documentElement.scrollWidth,"
                           " document.documentElement.scrollHeight];")
            shot = self.d.execute_cdp_cmd("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1}})
            with open(path, "wb") as f:
                f.write(base64.b64decode(shot["data"]))
        else:
            self.d.save_screenshot(path)
        return path


def severe(entries, allowed=()):
    """The SEVERE browser console entries that none of `allowed` (substrings) explains."""
    return [e for e in entries
            if e.get("level") == "SEVERE" and not any(a in e.get("message", "") for a in allowed)]


def parse_ts(s):
    s = s.strip().rstrip("Z")
    if "." in s:
        head, frac = s.split(".", 1)
        s = f"{head}.{frac[:6].ljust(6, '0')}"
    else:
        s += ".000000"
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=timezone.utc)


# ---------------------------------------------------------------------------- the checks
# Each check takes (stack, console) and raises CheckFailed; it may return a list of
# substrings of SEVERE console messages it expects (the browser logs a 4xx answer to a
# fetch as an error). Any other SEVERE entry fails the check that was running.


def page_loads_without_errors(s, c):
    c.open()
    texts = c.wait_panels_filled()
    time.sleep(0.5)  # for a late error (the events' first answer, the clock's timer)
    logs = c.drain_logs()
    bad = severe(logs)
    ensure(not bad, "browser console errors: " + "; ".join(e["message"] for e in bad))
    favicon = [e["message"] for e in logs if "favicon" in e.get("message", "")]
    ensure(not favicon, f"favicon messages (the page has an empty data: icon): {favicon}")
    ensure("Understudy console" in c.d.title and "compute" in c.d.title, f"title {c.d.title!r}")
    ensure(texts["faults"] == "No fault rules.", f"faults panel: {texts['faults']!r}")
    ensure(texts["state"] == "No servers or load balancers.", f"state panel: {texts['state']!r}")
    ensure(c.js("return !!document.querySelector('#clock .now') && !!document.querySelector('#clock .mode')"),
           f"clock panel: {texts['clock']!r}")
    for p, t in texts.items():
        ensure("Cannot load this panel" not in t and "Not reached" not in t, f"{p} panel: {t!r}")
    c.wait("the live indicator says live", lambda: c.text("live") == "live")
    ensure(c.js("return document.getElementById('token-form').hidden"), "the token form is shown")
    # Only the console's own script: nothing else is loaded or injected.
    scripts = c.js("return [...document.scripts].map(s => s.src || s.textContent);")
    ensure(len(scripts) == 1 and scripts[0].endswith("/_understudy/ui/console.js"), f"scripts: {scripts}")
    c.screenshot("1-loaded.png")


def server_and_balancer_appear_live(s, c):
    c.ensure_open()
    c.js("window.__marker = 1;")
    path = f"/v2/{s.tenant}/servers"
    server_id = s.create_server("web-1")
    c.wait(f"server {server_id} under State",
           lambda: c.js("const r = document.querySelector('#state tr[data-server=\"' + arguments[0] + '\"]');"
                        " return r && r.querySelector('.name').textContent === 'web-1';", server_id))
    c.wait(f"POST {path} under Requests", lambda: c.request_row("POST", path, 202))
    c.not_reloaded()
    lb_id = s.create_balancer("web")
    c.wait(f"balancer {lb_id} under State",
           lambda: c.js("const r = document.querySelector('#state tr[data-balancer=\"' + arguments[0] + '\"]');"
                        " return r && r.querySelector('.name').textContent === 'web'"
                        " && r.innerText.includes('10.0.0.1:80 ENABLED');", str(lb_id)))
    c.wait(f"POST /v1.0/{s.tenant}/loadbalancers under Requests",
           lambda: c.request_row("POST", f"/v1.0/{s.tenant}/loadbalancers", 202))
    state = c.text("state")
    ensure(f"Servers · tenant {s.tenant}" in state and f"Load balancers · tenant {s.tenant}" in state,
           f"state panel: {state!r}")
    c.not_reloaded()
    c.screenshot("2-server-and-balancer.png")


XSS = "<script>alert(1)</script>"


def script_name_renders_as_text(s, c):
    c.ensure_open()
    server_id = s.create_server(XSS)
    c.wait("the server named <script>… under State",
           lambda: c.js("const r = document.querySelector('#state tr[data-server=\"' + arguments[0] + '\"]');"
                        " return r && r.querySelector('.name').textContent;", server_id) == XSS)
    # Its POST (with the name in the body) under Requests too, then time for a script to run.
    c.wait("its POST under Requests", lambda: c.request_row("POST", f"/v2/{s.tenant}/servers", 202))
    time.sleep(1.0)
    try:
        alert = c.d.switch_to.alert
        text = alert.text
        alert.dismiss()
        raise CheckFailed(f"an alert is open: {text!r}")
    except NoAlertPresentException:
        pass
    ensure(XSS in c.text("state"), "the State panel's text lacks the literal name")
    ensure("&lt;script&gt;alert(1)&lt;/script&gt;" in c.html("state"), "the name is not escaped in the State HTML")
    injected = c.js("return [...document.querySelectorAll('script')]"
                    ".filter(e => e.textContent.includes('alert(1)') || !e.src).length;")
    ensure(injected == 0, f"{injected} <script> element(s) with the name's content in the DOM")
    ensure(c.js("return document.querySelectorAll('script').length") == 1, "more than the console's own <script>")
    # The request body (inside the row's details) is text as well.
    ensure(c.js("return [...document.querySelectorAll('#requests pre')]"
                ".some(p => p.textContent.includes(arguments[0]));", XSS),
           "the request body with the name is not shown as text under Requests")
    c.not_reloaded()
    c.screenshot("3-script-name-as-text.png")


FAULT_RULE = ('{"match": {"method": "GET", "path": "/v2/*/flavors"},\n'
              ' "action": {"type": "error", "status": 503},\n "budget": {"times": 1}}')


def fault_through_the_form(s, c):
    c.ensure_open()
    before = set(c.js("return [...document.querySelectorAll('#faults tr[data-rule]')].map(r => r.dataset.rule);"))
    c.type_rule(FAULT_RULE)
    Select(c.d.find_element(By.ID, "fault-service")).select_by_value("")  # this mock (compute)
    c.click("#fault-form button[type=submit]")

    def new_rule():
        ids = c.js("return [...document.querySelectorAll('#faults tr[data-rule]')].map(r => r.dataset.rule);")
        fresh = [i for i in ids if i not in before]
        return fresh[0] if len(fresh) == 1 else None
    rule = c.wait("the new rule in the Faults panel", new_rule)
    ensure(c.text("fault-error") == "", f"#fault-error: {c.text('fault-error')!r}")
    row = lambda sel: c.js(  # noqa: E731
        "const r = document.querySelector('#faults tr[data-rule=\"' + arguments[0] + '\"]');"
        " const e = r && r.querySelector(arguments[1]); return e ? e.textContent : null;", rule, sel)
    ensure(row("td:nth-child(2)") == "compute", f"rule's service: {row('td:nth-child(2)')!r}")
    ensure('"/v2/*/flavors"' in row("td:nth-child(3)") and '"status":503' in row("td:nth-child(4)"),
           f"rule's match/action: {row('td:nth-child(3)')!r} {row('td:nth-child(4)')!r}")
    ensure(row("td.fired") == "0", f"fired before any request: {row('td.fired')!r}")

    path = f"/v2/{s.tenant}/flavors"
    r = call("GET", f"{s.compute}{path}", token=s.token())
    ensure(r.status == 503, f"the matching request: {r.describe()}")
    key = c.wait(f"GET {path} (503) under Requests", lambda: c.request_row("GET", path, 503))
    badge = c.wait("the row's rule badge",
                   lambda: c.js("const d = document.querySelector('#requests details[data-key=\"' + arguments[0] + '\"]');"
                                " const b = d && d.querySelector('summary .rule'); return b && b.textContent;", key))
    ensure(badge == f"rule {rule}", f"badge {badge!r}, rule {rule}")
    c.wait("the rule's fired counter at 1", lambda: row("td.fired") == "1")
    ensure(row("td.matched") == "1", f"matched: {row('td.matched')!r}")
    # The budget is spent: the next one is fine, and still counted once.
    r = call("GET", f"{s.compute}{path}", token=s.token())
    ensure(r.status == 200, f"after the budget: {r.describe()}")
    c.wait(f"GET {path} (200) under Requests", lambda: c.request_row("GET", path, 200))
    ensure(row("td.fired") == "1", f"fired after the budget: {row('td.fired')!r}")
    c.not_reloaded()
    c.screenshot("4-fault-fired.png")
    # The showcase: a server, a balancer, a fired rule and its request opened.
    c.click(f'#requests details[data-key="{key}"] > summary')
    c.wait("the 503 row open", lambda: c.js(
        "return document.querySelector('#requests details[data-key=\"' + arguments[0] + '\"]').open", key))
    c.js("window.scrollTo(0, 0);")
    c.screenshot("console.png")
    # Leave the row closed for the checks that follow.
    c.click(f'#requests details[data-key="{key}"] > summary')


def invalid_rule_and_delete_all(s, c):
    c.ensure_open()
    bad = {"action": {"type": "error", "status": 99}}
    # What the API itself answers (it adds nothing either).
    api = call("POST", f"{s.compute}{CONTROL}/faults", bad)
    ensure(api.status == 400 and api.json and api.json["error"]["message"], f"the API: {api.describe()}")
    message = api.json["error"]["message"]
    # A rule to delete afterwards, if check 4's is not there (run with --only).
    if not c.js("return document.querySelectorAll('#faults tr[data-rule]').length"):
        expect(call("POST", f"{s.compute}{CONTROL}/faults", {
            "match": {"method": "GET", "path": "/nowhere"}, "action": {"type": "error", "status": 500}}),
            200, 201, what="a rule to delete")
        c.wait("a rule in the Faults panel",
               lambda: c.js("return document.querySelectorAll('#faults tr[data-rule]').length"))
    rules_before = c.js("return [...document.querySelectorAll('#faults tr[data-rule]')].map(r => r.dataset.rule);")
    api_before = len(expect(call("GET", f"{s.compute}{CONTROL}/faults?scope=stack"), 200, what="faults").json["faults"])

    c.type_rule(json.dumps(bad))
    c.click("#fault-form button[type=submit]")
    shown = c.wait("the API's error in #fault-error", lambda: c.text("fault-error"))
    ensure(shown == message, f"#fault-error {shown!r}, the API says {message!r}")
    time.sleep(1.0)  # time for a refresh that would show an added rule
    rules_after = c.js("return [...document.querySelectorAll('#faults tr[data-rule]')].map(r => r.dataset.rule);")
    ensure(rules_after == rules_before, f"rules {rules_before} became {rules_after}")
    api_after = len(expect(call("GET", f"{s.compute}{CONTROL}/faults?scope=stack"), 200, what="faults").json["faults"])
    ensure(api_after == api_before, f"the stack had {api_before} rules, now {api_after}")
    c.screenshot("5-invalid-rule.png")

    # Not JSON at all: said so by the page, nothing sent.
    c.type_rule("{not json")
    c.click("#fault-form button[type=submit]")
    c.wait("'Not JSON' in #fault-error", lambda: (c.text("fault-error") or "").startswith("Not JSON: "))

    c.click("#faults-clear")
    c.wait("the Faults panel empty after Delete all",
           lambda: c.text("faults") == "No fault rules."
           and not c.js("return document.querySelectorAll('#faults tr[data-rule]').length"))
    ensure(c.text("fault-error") == "", f"#fault-error after Delete all: {c.text('fault-error')!r}")
    left = expect(call("GET", f"{s.compute}{CONTROL}/faults?scope=stack"), 200, what="faults").json["faults"]
    ensure(left == [], f"rules left in the stack: {left}")
    c.not_reloaded()
    # The browser logs the 400 answer to the form's POST as an error: that one is expected.
    return ["/_understudy/v1/faults - Failed to load resource: the server responded with a status of 400"]


IMG = "<img src=x onerror=alert(2)>"


def html_elsewhere_renders_as_text(s, c):
    """What else a user types is text too: a balancer's name, a rule's path (added through
    the form), and an API error that repeats the rule's text (in #fault-error)."""
    c.ensure_open()
    lb_id = s.create_balancer(IMG)
    c.wait("the balancer named <img …> under State",
           lambda: c.js("const r = document.querySelector('#state tr[data-balancer=\"' + arguments[0] + '\"]');"
                        " return r && r.querySelector('.name').textContent;", str(lb_id)) == IMG)
    bad_path = "/<img src=x onerror=alert(3)>"
    c.type_rule(json.dumps({"match": {"method": "GET", "path": bad_path},
                            "action": {"type": "error", "status": 500}}))
    c.click("#fault-form button[type=submit]")
    c.wait("the rule with the <img> path in the Faults panel",
           lambda: any(bad_path in t for t in c.js(
               "return [...document.querySelectorAll('#faults tr[data-rule] code')].map(e => e.textContent);")))
    bad_type = {"action": {"type": "<img src=x onerror=alert(4)>"}}
    api = call("POST", f"{s.compute}{CONTROL}/faults", bad_type)
    ensure(api.status == 400 and "<img" in api.json["error"]["message"],
           f"the API no longer repeats the type (this part tests nothing then): {api.describe()}")
    c.type_rule(json.dumps(bad_type))
    c.click("#fault-form button[type=submit]")
    # The same message (its "at line 1 column N" aside: the page sends compact JSON).
    said = api.json["error"]["message"].split(" at line ")[0]
    c.wait("the API's error, as text, in #fault-error",
           lambda: (c.text("fault-error") or "").startswith(said))
    time.sleep(1.0)
    try:
        alert = c.d.switch_to.alert
        text = alert.text
        alert.dismiss()
        raise CheckFailed(f"an alert is open: {text!r}")
    except NoAlertPresentException:
        pass
    imgs = c.js("return document.querySelectorAll('img').length")
    ensure(imgs == 0, f"{imgs} <img> element(s) in the DOM")
    c.screenshot("8-html-as-text.png")
    c.not_reloaded()
    expect(call("DELETE", f"{s.compute}{CONTROL}/faults?scope=stack"), 200, 204, what="delete faults")
    return ["/_understudy/v1/faults - Failed to load resource: the server responded with a status of 400"]


def clock_freeze_advance(s, c):
    c.ensure_open()
    now = lambda: c.js("const e = document.querySelector('#clock .now'); return e && e.textContent;")  # noqa: E731
    mode = lambda: c.js("const e = document.querySelector('#clock .mode'); return e && e.textContent;")  # noqa: E731
    c.click('#clock-form button[data-clock="freeze"]')
    c.wait("the Clock panel says frozen", lambda: mode() == "frozen")
    t0 = now()
    time.sleep(0.6)
    ensure(now() == t0, f"a frozen clock moved: {t0} then {now()}")
    seconds = c.d.find_element(By.ID, "clock-seconds")
    seconds.clear()
    seconds.send_keys("60")
    c.click('#clock-form button[data-clock="advance"]')
    t1 = c.wait("the Clock panel's time moved", lambda: now() != t0 and now())
    delta = (parse_ts(t1) - parse_ts(t0)).total_seconds()
    ensure(abs(delta - 60) < 0.001, f"advance 60 moved the clock by {delta} s ({t0} -> {t1})")
    ensure(mode() == "frozen", f"mode after advance: {mode()!r}")
    ensure(c.text("clock-error") == "", f"#clock-error: {c.text('clock-error')!r}")
    api = expect(call("GET", f"{s.lb}{CONTROL}/clock"), 200, what="clock").json
    ensure(api.get("mode") == "frozen" and parse_ts(api["now"]) == parse_ts(t1),
           f"the LB's clock is not the panel's: {api} vs {t1}")
    c.screenshot("6-clock-frozen-advanced.png")
    c.click('#clock-form button[data-clock="reset"]')
    c.wait("the Clock panel back to running", lambda: mode() == "running")
    c.not_reloaded()


def request_row_expands(s, c):
    c.ensure_open()
    path = f"/v2/{s.tenant}/servers"
    name = "expand-me"
    s.create_server(name)

    def row_with_body():
        return c.js("""
            for (const d of document.querySelectorAll('#requests details.entry')) {
              const m = d.querySelector('summary .method'), p = d.querySelector('summary .path');
              if (m.textContent === 'POST' && p.textContent === arguments[0]
                  && d.querySelector('.exchange pre') && d.querySelector('.exchange pre').textContent.includes(arguments[1]))
                return d.dataset.key;
            }
            return null;""", path, name)
    key = c.wait(f"POST {path} for {name} under Requests", row_with_body)
    sel = f'#requests details[data-key="{key}"]'
    ensure(not c.js(f"return document.querySelector('{sel}').open"), "the row is open before the click")
    ensure(not c.d.find_element(By.CSS_SELECTOR, f"{sel} .exchange").is_displayed(), "the exchange shows unopened")
    c.click(f"{sel} > summary")
    c.wait("the row open", lambda: c.js(f"return document.querySelector('{sel}').open"))
    ensure(c.d.find_element(By.CSS_SELECTOR, f"{sel} .exchange").is_displayed(), "the exchange is not shown")
    parts = c.js(f"""
        const sides = [...document.querySelectorAll('{sel} .exchange > div')];
        return sides.map(side => ({{
          title: side.querySelector('h4').textContent,
          headers: [...side.querySelectorAll('table.headers tr')].map(tr => [tr.cells[0].textContent, tr.cells[1].textContent]),
          body: side.querySelector('pre') ? side.querySelector('pre').textContent : null,
        }}));""")
    ensure([p["title"] for p in parts] == ["Request", "Answer"], f"sections: {[p['title'] for p in parts]}")
    req, ans = parts
    req_headers = {k.lower(): v for k, v in req["headers"]}
    ans_headers = {k.lower(): v for k, v in ans["headers"]}
    ensure(req_headers.get("content-type") == "application/json", f"request headers: {req_headers}")
    ensure("x-auth-token" in req_headers, f"request headers: {req_headers}")
    ensure(ans_headers.get("content-type", "").startswith("application/json"), f"answer headers: {ans_headers}")
    for side, body in (("request", req["body"]), ("answer", ans["body"])):
        ensure(body, f"no {side} body")
        try:
            parsed = json.loads(body)
        except ValueError:
            raise CheckFailed(f"the {side} body is not JSON: {body[:200]!r}")
        ensure("\n  " in body, f"the {side} body is not indented: {body[:200]!r}")
        ensure("server" in parsed, f"the {side} body: {body[:200]!r}")
    ensure(json.loads(req["body"])["server"]["name"] == name, f"request body: {req['body']!r}")
    ensure(json.loads(ans["body"])["server"].get("id"), f"answer body: {ans['body']!r}")
    # It stays open while the panel is refreshed by a new request.
    r = call("GET", f"{s.compute}/v2/{s.tenant}/flavors", token=s.token())
    ensure(r.status == 200, r.describe())
    c.wait("the refresh after GET flavors", lambda: c.request_row("GET", f"/v2/{s.tenant}/flavors", 200))
    ensure(c.js(f"return document.querySelector('{sel}').open"), "the open row closed on refresh")
    c.not_reloaded()
    c.js("document.querySelector(arguments[0]).scrollIntoView();", sel)
    c.screenshot("7-expanded-request.png", full_page=False)  # the window, at the open row


def request_filters(s, c):
    c.ensure_open()
    s.create_server("filtered")
    flavors = f"/v2/{s.tenant}/flavors"
    ensure(call("GET", f"{s.compute}{flavors}", token=s.token()).status == 200, "GET flavors")
    c.wait(f"GET {flavors} under Requests", lambda: c.request_row("GET", flavors, 200))
    rows = lambda: c.js(  # noqa: E731
        "return [...document.querySelectorAll('#requests details.entry')].map(d =>"
        " [d.querySelector('.service').textContent, d.querySelector('.method').textContent,"
        "  d.querySelector('.path').textContent, d.dataset.status]);")
    ensure(any(r[1] == "POST" for r in rows()), "no POST row before filtering")

    def set_filter(name, value):
        box = c.d.find_element(By.CSS_SELECTOR, f'#request-filters input[name="{name}"]')
        # As a person would: select all, delete, type. (WebElement.clear() fires no `input`
        # event, the one the page's filters listen to.)
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys(Keys.BACKSPACE)
        if value:
            box.send_keys(value)

    set_filter("method", "GET")
    c.wait("only GET rows with method=GET",
           lambda: rows() and all(r[1] == "GET" for r in rows()) and any(r[2] == flavors for r in rows()))
    set_filter("path", flavors)
    c.wait(f"only GET {flavors} rows with path={flavors}",
           lambda: rows() and all(r[1] == "GET" and r[2] == flavors for r in rows()))
    # A new matching request arrives: the refresh it causes keeps the filters.
    before = len(rows())
    ensure(call("GET", f"{s.compute}{flavors}", token=s.token()).status == 200, "GET flavors")
    s.create_server("filtered-2")
    c.wait("the new GET flavors row, filters kept", lambda: len(rows()) == before + 1
           and all(r[1] == "GET" and r[2] == flavors for r in rows()))
    set_filter("method", "")
    set_filter("path", "")
    set_filter("service", "lb")
    c.wait("only lb rows with service=lb", lambda: rows() and all(r[0] == "lb" for r in rows()))
    set_filter("service", "")
    c.wait("every row back without filters",
           lambda: any(r[1] == "POST" and r[2] == f"/v2/{s.tenant}/servers" for r in rows())
           and any(r[0] == "lb" for r in rows()) and any(r[0] == "identity" for r in rows()))
    c.not_reloaded()


def build_finishes_on_screen(s, c):
    """A server that builds for 3 s of the running clock (`server_building: "3"`) turns
    ACTIVE under State by itself: no request, no reload. The API says ACTIVE after 3 s;
    the panel has LIVE_TIMEOUT more to follow."""
    c.ensure_open()
    expect(call("POST", f"{s.identity}{CONTROL}/clock/reset"), 200, 204, what="clock reset")
    server_id = s.create_server("slow-build", {"server_building": "3"})
    status = lambda: c.js(  # noqa: E731
        "const r = document.querySelector('#state tr[data-server=\"' + arguments[0] + '\"] td.status');"
        " return r && r.textContent;", server_id)
    c.wait("the new server in BUILD under State", lambda: (status() or "").startswith("BUILD"))
    started = time.monotonic()
    time.sleep(3.2)
    # The test asks the API itself nothing until the panel has had its chance: a request
    # would land in the journal and so refresh the page.
    try:
        c.wait("the server ACTIVE under State with no request made meanwhile",
               lambda: (status() or "").startswith("ACTIVE"))
    except CheckFailed as e:
        r = expect(call("GET", f"{s.compute}/v2/{s.tenant}/servers/{server_id}", token=s.token()), 200,
                   what="GET server")
        raise CheckFailed(f"{e}; the API says {r.json['server']['status']} "
                          f"{time.monotonic() - started:.1f} s after BUILD showed, the panel {status()!r}")
    c.not_reloaded()
    c.screenshot("10-build-finished.png")


def layout_fits_the_window(s, c):
    """At 1400x1000, what the checks read is on screen: no panel needs a horizontal scroll
    (an opened request's Answer beside its Request, a rule's counters and Delete button)."""
    c.ensure_open()
    if not c.js("return document.querySelectorAll('#faults tr[data-rule]').length"):
        expect(call("POST", f"{s.compute}{CONTROL}/faults", {
            "match": {"method": "GET", "path": "/v2/*/flavors"}, "action": {"type": "error", "status": 503},
            "budget": {"times": 1}}), 200, 201, what="a rule to show")
        c.wait("a rule in the Faults panel",
               lambda: c.js("return document.querySelectorAll('#faults tr[data-rule]').length"))
    path = f"/v2/{s.tenant}/servers"
    s.create_server("layout")
    key = c.wait(f"POST {path} under Requests", lambda: c.request_row("POST", path, 202))
    c.click(f'#requests details[data-key="{key}"] > summary')
    c.wait("the row open", lambda: c.js(
        "return document.querySelector('#requests details[data-key=\"' + arguments[0] + '\"]').open", key))
    c.js("window.scrollTo(0, 0);")
    c.screenshot("11-layout.png")
    report = c.js("""
        const out = [];
        const inside = (el, box) => { const r = el.getBoundingClientRect(); return r.left >= box.left - 1 && r.right <= box.right + 1; };
        for (const sec of document.querySelectorAll('main > section')) {
          if (sec.scrollWidth > sec.clientWidth + 1)
            out.push(`#${sec.id} scrolls sideways: ${sec.scrollWidth} px of content in ${sec.clientWidth} px`);
        }
        const reqBox = document.getElementById('requests-section').getBoundingClientRect();
        const open = document.querySelector('#requests details[data-key="' + arguments[0] + '"]');
        for (const side of open.querySelectorAll('.exchange > div')) {
          if (!inside(side, reqBox)) {
            const r = side.getBoundingClientRect();
            out.push(`the open row's ${side.querySelector('h4').textContent} side spans x ${Math.round(r.left)}-${Math.round(r.right)}, the Requests panel ${Math.round(reqBox.left)}-${Math.round(reqBox.right)}`);
          }
        }
        const faultsBox = document.getElementById('faults-section').getBoundingClientRect();
        for (const sel of ['td.matched', 'td.fired', 'button.delete-rule']) {
          const el = document.querySelector('#faults tr[data-rule] ' + sel);
          if (el && !inside(el, faultsBox)) {
            const r = el.getBoundingClientRect();
            out.push(`the rule's ${sel} at x ${Math.round(r.left)}-${Math.round(r.right)}, the Faults panel ${Math.round(faultsBox.left)}-${Math.round(faultsBox.right)}`);
          }
        }
        return out;""", key)
    c.click(f'#requests details[data-key="{key}"] > summary')
    ensure(not report, "; ".join(report))


CHECKS = [
    page_loads_without_errors,
    server_and_balancer_appear_live,
    script_name_renders_as_text,
    fault_through_the_form,
    invalid_rule_and_delete_all,
    clock_freeze_advance,
    request_row_expands,
    html_elsewhere_renders_as_text,
    request_filters,
    build_finishes_on_screen,
    layout_fits_the_window,
]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("identity")
    ap.add_argument("compute")
    ap.add_argument("lb")
    ap.add_argument("--screenshots", default="console-screenshots")
    ap.add_argument("--only", help="comma-separated check names to run")
    ap.add_argument("--skip", help="comma-separated check names not to run")
    ap.add_argument("-v", "--verbose", action="store_true", help="print the browser's console log")
    args = ap.parse_args()
    only = set(args.only.split(",")) if args.only else None
    skip = set(args.skip.split(",")) if args.skip else set()
    unknown = ((only or set()) | skip) - {f.__name__ for f in CHECKS}
    if unknown:
        print(f"unknown checks: {sorted(unknown)}; the checks: {[f.__name__ for f in CHECKS]}", file=sys.stderr)
        return 2
    checks = [f for f in CHECKS if (only is None or f.__name__ in only) and f.__name__ not in skip]

    os.makedirs(args.screenshots, exist_ok=True)
    for old in os.listdir(args.screenshots):
        if old.endswith(".png"):
            os.remove(os.path.join(args.screenshots, old))

    s = Stack(args.identity.rstrip("/"), args.compute.rstrip("/"), args.lb.rstrip("/"))
    passed = failed = 0
    try:
        s.clean()
        driver = start_browser()
    except Exception as e:  # noqa: BLE001
        print(f"FAIL  setup: {type(e).__name__}: {e}")
        print(f"console: 0 passed, 1 failed")
        return 1
    c = Console(driver, s.compute + UI, args.screenshots)
    try:
        for check in checks:
            name = check.__name__
            started = time.monotonic()
            try:
                allowed = check(s, c) or []
                bad = severe(c.drain_logs(), allowed)
                ensure(not bad, "browser console errors: " + "; ".join(e["message"] for e in bad))
                print(f"PASS  {name} ({time.monotonic() - started:.1f} s)")
                passed += 1
            except UnexpectedAlertPresentException as e:
                failed += 1
                print(f"FAIL  {name}: an alert opened: {e.alert_text!r}")
                try:
                    c.d.switch_to.alert.dismiss()
                except WebDriverException:
                    pass
            except Exception as e:  # noqa: BLE001
                failed += 1
                detail = str(e) if isinstance(e, CheckFailed) else f"{type(e).__name__}: {e}"
                print(f"FAIL  {name}: {detail.strip()}")
                if not isinstance(e, CheckFailed):
                    traceback.print_exc()
                try:
                    c.drain_logs()
                    c.screenshot(f"FAILED-{name}.png")
                except WebDriverException:
                    pass
        if args.verbose:
            for e in c.logs:
                print(f"  browser {e.get('level')}: {e.get('message')}")
    finally:
        try:
            driver.quit()
        except WebDriverException:
            pass
    print(f"screenshots: {os.path.abspath(args.screenshots)}")
    print(f"console: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
