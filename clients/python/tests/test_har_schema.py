"""The journal's HAR (GET /_understudy/v1/journal.har) against a JSON Schema of HAR 1.2.

tests/har-1.2.schema.json is written from the field lists of the W3C "HTTP Archive (HAR)
format" editor's draft (section 4.2): the fields it marks optional are optional, the others
required; custom fields start with an underscore, and any other field fails, so a
misspelt or invented field does not pass unseen.
"""

from __future__ import annotations

import copy
import json
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from jsonschema import Draft202012Validator
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for

from understudy import Tenant, Understudy, UnderstudyError

SCHEMA = Path(__file__).with_name("har-1.2.schema.json")


@pytest.fixture(scope="module")
def har_validator() -> Validator:
    """The validator of the schema's own draft ($schema), checking formats (date-time
    where a checker for it is installed; the schema's pattern holds either way)."""
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    cls = validator_for(schema)
    assert cls is Draft202012Validator, "the schema says which draft it is written in"
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def violations(validator: Validator, document: Any) -> list[str]:
    """Every place the document breaks the schema, as "log/entries/0/request: message"."""
    errors = sorted(validator.iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path])
    return ["/".join(str(p) for p in e.absolute_path) + f": {e.message}" for e in errors]


def the_entry(entries: list[dict[str, Any]], method: str, path: str) -> dict[str, Any]:
    """The one entry of `method` on `path` (the URL's path, without the query)."""
    found = [
        e
        for e in entries
        if e["request"]["method"] == method and urlsplit(e["request"]["url"]).path == path
    ]
    assert len(found) == 1, f"{method} {path}: {len(found)} entries"
    return found[0]


def post_raw(tenant: Tenant, url: str, text: str) -> tuple[int, Any]:
    """POSTs `text` exactly as given (UTF-8) with the tenant's token."""
    data = text.encode("utf-8")
    headers = {**tenant.headers, "Content-Type": "application/json", "Accept": "application/json"}
    req = urllib.request.Request(url, data=data, method="POST", headers=headers)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(req, timeout=30) as res:
        return int(res.status), json.loads(res.read())


def test_the_journals_har_is_valid_har_1_2(
    understudy: Understudy, understudy_tenant: Tenant, image_ref: str, har_validator: Validator
) -> None:
    t = understudy_tenant  # authenticated: POST /v2.0/tokens, after the stack's reset
    assert t.compute_url is not None and t.lb_url is not None
    servers = urlsplit(t.compute_url).path + "/servers"

    # A JSON body, written by hand (indented, not ASCII) so its text is known to the byte.
    sent = {"server": {"name": "hår-ünïcode", "imageRef": image_ref, "flavorRef": "2"}}
    sent_text = json.dumps(sent, indent=2, ensure_ascii=False)
    status, created = post_raw(t, t.compute_url + "/servers", sent_text)
    assert status == 202
    server = str(created["server"]["id"])

    assert t.get(f"/servers/{server}")["server"]["id"] == server
    t.get("/servers/detail", limit=1, name="hår")  # a query string
    t.get(f"{t.lb_url}/loadbalancers")  # the third mock
    with pytest.raises(UnderstudyError) as missing:
        t.get("/servers/no-such-server")
    assert missing.value.status == 404

    rule = understudy.faults.add(
        service="compute",
        match={"method": "GET", "path": "/**/flavors"},
        action={"type": "error", "status": 503},
        budget={"times": 1},
    )
    with pytest.raises(UnderstudyError) as faulted:
        t.get("/flavors")
    assert faulted.value.status == 503
    assert t.get("/flavors")["flavors"], "the rule's budget is spent"

    understudy.nova.set_status(t, {server: "ERROR"})  # Mimic's control API
    assert t.get(f"/servers/{server}")["server"]["status"] == "ERROR"

    har = understudy.journal_har()
    assert violations(har_validator, har) == []

    entries: list[dict[str, Any]] = har["log"]["entries"]
    for e in entries:
        # What the schema cannot say: "time" is the sum of the timings that are not -1.
        timings = [v for k, v in e["timings"].items() if k != "comment" and not k.startswith("_")]
        assert e["time"] == pytest.approx(sum(v for v in timings if v != -1), abs=1e-6)

    auth = the_entry(entries, "POST", "/v2.0/tokens")
    assert auth["response"]["status"] == 200
    assert json.loads(auth["request"]["postData"]["text"])["auth"]["passwordCredentials"] == {
        "username": t.username,
        "password": "understudy",
    }

    post = the_entry(entries, "POST", servers)
    assert post["response"]["status"] == 202
    assert post["request"]["postData"]["text"] == sent_text, "the body as it was sent"
    assert post["request"]["postData"]["mimeType"].startswith("application/json")
    assert post["request"]["bodySize"] == len(sent_text.encode("utf-8"))
    assert json.loads(post["response"]["content"]["text"])["server"]["id"] == server

    gets = [
        e
        for e in entries
        if e["request"]["method"] == "GET" and urlsplit(e["request"]["url"]).path == f"{servers}/{server}"
    ]
    assert [e["response"]["status"] for e in gets] == [200, 200]
    for e in gets:  # their text: test_the_har_keeps_the_body_of_a_get_of_a_server
        content = e["response"]["content"]
        assert content["mimeType"].startswith("application/json")
        assert content["size"] == e["response"]["bodySize"] > 0

    query = the_entry(entries, "GET", f"{servers}/detail")
    assert {(q["name"], q["value"]) for q in query["request"]["queryString"]} == {
        ("limit", "1"),
        ("name", "hår"),
    }

    not_found = the_entry(entries, "GET", f"{servers}/no-such-server")
    assert (not_found["response"]["status"], not_found["response"]["statusText"]) == (404, "Not Found")
    assert not_found["_understudy"]["rule"] is None

    flavors = [e for e in entries if urlsplit(e["request"]["url"]).path.endswith("/flavors")]
    assert [(e["response"]["status"], e["_understudy"]["rule"]) for e in flavors] == [
        (503, rule.id),
        (200, None),
    ]
    assert rule.id in flavors[0]["comment"]
    fired = [e for e in entries if e["_understudy"]["rule"] is not None]
    assert fired == [flavors[0]], "only the faulted request names a rule"

    mimic = [e for e in entries if "/mimic/" in e["request"]["url"]]
    assert len(mimic) == 1 and urlsplit(mimic[0]["request"]["url"]).path.endswith("/attributes")
    assert 200 <= mimic[0]["response"]["status"] < 300
    assert json.loads(mimic[0]["request"]["postData"]["text"]) == {"status": {server: "ERROR"}}

    lbs = the_entry(entries, "GET", urlsplit(t.lb_url).path + "/loadbalancers")
    assert lbs["_understudy"]["service"] == "lb"
    assert {e["_understudy"]["service"] for e in entries} >= {"identity", "compute", "lb"}


def test_the_schema_rejects_what_har_1_2_does_not_allow(
    understudy: Understudy, understudy_tenant: Tenant, create_server: Any, har_validator: Validator
) -> None:
    """The schema's own test: a real HAR passes, and each copy broken in one place fails."""
    create_server("schema-self-test")
    har = understudy.journal_har()
    assert violations(har_validator, har) == []
    entries = har["log"]["entries"]
    index = next(i for i, e in enumerate(entries) if "postData" in e["request"])

    def broken(change: Any) -> list[str]:
        document = copy.deepcopy(har)
        change(document["log"], document["log"]["entries"][index])
        return violations(har_validator, document)

    def without_http_version(log: Any, entry: Any) -> None:
        del entry["request"]["httpVersion"]

    def with_unknown_field(log: Any, entry: Any) -> None:
        entry["response"]["contentLength"] = 1

    assert broken(without_http_version) == [
        f"log/entries/{index}/request: 'httpVersion' is a required property"
    ]
    assert len(broken(with_unknown_field)) == 1
    assert "contentLength" in broken(with_unknown_field)[0]

    # Each of these breaks one rule of the spec.
    for change in (
        lambda log, entry: log.pop("creator"),
        lambda log, entry: log.update(version="1.1"),
        lambda log, entry: log.update(pages=[{"id": "page_1", "title": "no start"}]),
        lambda log, entry: entry.pop("cache"),
        lambda log, entry: entry.update(startedDateTime="2030-01-01T00:00:00"),  # no zone
        lambda log, entry: entry.update(time="1"),
        lambda log, entry: entry["request"].update(url="/relative/path"),
        lambda log, entry: entry["request"].update(headersSize=1.5),
        lambda log, entry: entry["request"]["headers"].append({"name": "x-only-a-name"}),
        lambda log, entry: entry["request"]["postData"].update(params=[{"name": "a"}]),  # and text
        lambda log, entry: entry["request"]["postData"].pop("mimeType"),
        lambda log, entry: entry["response"]["content"].pop("size"),
        lambda log, entry: entry["response"]["cookies"].append({"name": "c", "value": "v", "expires": 1}),
        lambda log, entry: entry["cache"].update(afterRequest={"eTag": ""}),
        lambda log, entry: entry["timings"].pop("wait"),
        lambda log, entry: entry["timings"].update(receive=-1),
        lambda log, entry: entry["timings"].update(dns=-2),
        lambda log, entry: entry["timings"].update(Blocked=0),
    ):
        assert broken(change), "the schema let a broken HAR through"
    if "date-time" in Draft202012Validator.FORMAT_CHECKER.checkers:
        assert broken(lambda log, entry: entry.update(startedDateTime="2030-02-30T00:00:00Z"))

    # What the spec allows: custom fields with an underscore, -1 for timings that do not
    # apply, optional fields, null cache states.
    for change in (
        lambda log, entry: entry.update(_custom={"anything": [1, None]}),
        lambda log, entry: entry["timings"].update(blocked=-1, dns=-1, connect=-1, ssl=-1),
        lambda log, entry: entry["timings"].update(dns=0.25, comment="measured"),
        lambda log, entry: log.update(browser={"name": "b", "version": "1"}, comment=""),
        lambda log, entry: log.update(
            pages=[
                {
                    "startedDateTime": entry["startedDateTime"],
                    "id": "page_0",
                    "title": "t",
                    "pageTimings": {"onContentLoad": -1, "onLoad": 12.5},
                }
            ]
        ),
        lambda log, entry: entry.update(pageref="page_0", serverIPAddress="127.0.0.1", connection="52492"),
        lambda log, entry: entry["cache"].update(beforeRequest=None, afterRequest=None),
        lambda log, entry: entry["response"]["cookies"].append(
            {"name": "c", "value": "v", "expires": "2009-07-24T19:20:30.123+02:00", "httpOnly": True}
        ),
        lambda log, entry: entry["request"]["postData"].pop("text"),
        lambda log, entry: entry["response"]["content"].update(encoding="base64", compression=0),
    ):
        assert broken(change) == [], "the schema refused what the spec allows"


def test_the_har_keeps_the_body_of_a_get_of_a_server(
    understudy: Understudy, understudy_tenant: Tenant, create_server: Any, har_validator: Validator
) -> None:
    server = create_server("kept")
    understudy_tenant.get(f"/servers/{server}")
    assert understudy_tenant.compute_url is not None
    path = urlsplit(understudy_tenant.compute_url).path + f"/servers/{server}"
    har = understudy.journal_har(method="GET", path=path)
    assert violations(har_validator, har) == []
    content = the_entry(har["log"]["entries"], "GET", path)["response"]["content"]
    assert "comment" not in content, content.get("comment")
    assert json.loads(content["text"])["server"]["id"] == server
    assert content["size"] == len(content["text"].encode("utf-8"))
