"""Every client method against the real stack (the `understudy` binary)."""

from __future__ import annotations

import json
import socket
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import pytest

from understudy import (
    FaultRule,
    JournalEntry,
    LocalStack,
    Tenant,
    Understudy,
    UnderstudyError,
    find_binary,
    parse_time,
)

POST_SERVERS = {"method": "POST", "path": "/**/servers"}
INERT = {"path": "/nowhere/at/all"}
DELAY = {"type": "delay", "ms": 1}


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=timezone.utc)


def servers_path(tenant: Tenant) -> str:
    assert tenant.compute_url is not None
    return urlsplit(tenant.compute_url).path + "/servers"


# ------------------------------------------------------------------------------ basics


def test_url_is_reduced_to_identitys_origin() -> None:
    assert Understudy("http://localhost:5000/identity/v2.0/").url == "http://localhost:5000"
    assert Understudy("localhost:5000").url == "http://localhost:5000"


def test_services_are_found_through_the_catalog(understudy: Understudy) -> None:
    services = understudy.services()
    assert set(services) >= {"identity", "compute", "lb"}
    assert services["identity"] == understudy.url
    for name in ("identity", "compute", "lb"):
        assert understudy.health(name) == {"status": "ok", "service": name}
        assert understudy.service_url(name) == services[name]
    assert understudy.ready()
    assert any(s["name"] == "cloudServersOpenStack" for s in understudy.catalog()["services"])


def test_errors_carry_status_and_body(understudy: Understudy) -> None:
    with pytest.raises(UnderstudyError) as e:
        understudy.faults.get("no-such-rule")
    assert e.value.status == 404
    assert e.value.body == {"error": {"code": 404, "message": "no fault rule no-such-rule"}}
    assert e.value.message == "no fault rule no-such-rule"
    assert e.value.method == "GET" and "/_understudy/v1/faults/no-such-rule" in e.value.url
    with pytest.raises(UnderstudyError) as bad:
        understudy.clock.advance(1e13)
    assert bad.value.status == 400


def test_an_unreachable_stack_is_status_0() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(UnderstudyError) as e:
        Understudy(f"http://127.0.0.1:{port}", timeout=5).health()
    assert e.value.status == 0


def test_the_tenant_fixture_is_a_fresh_authenticated_tenant(
    understudy: Understudy, understudy_tenant: Tenant
) -> None:
    t = understudy_tenant
    assert t.tenant_id and t.username and t.token and t.region == "DFW"
    for url in (t.compute_url, t.lb_url, t.compute_behavior_url, t.lb_control_url):
        assert url is not None and f"/{t.region}/" in url
    assert t.compute_url is not None and t.compute_url.startswith(understudy.service_url("compute"))
    assert t.lb_url is not None and t.lb_url.startswith(understudy.service_url("lb"))
    assert t.identity_url.startswith(understudy.url)
    assert t.get("/flavors")["flavors"], "the token works on Compute"
    assert t.lb_url is not None and "loadBalancers" in t.get(f"{t.lb_url}/loadbalancers")
    assert t.endpoint("cloudServersOpenStack", "ORD").endswith(f"/ORD/v2/{t.tenant_id}")
    other = understudy.tenant()
    assert other.tenant_id != t.tenant_id and other.username != t.username


# ------------------------------------------------------------------------------ faults


def test_a_rule_for_one_service_is_kept_by_that_service(
    understudy: Understudy, understudy_tenant: Tenant, create_server: Any
) -> None:
    rule = understudy.faults.add(
        service="compute",
        match=POST_SERVERS,
        action={"type": "error", "status": 500, "kind": "computeFault", "message": "boom"},
        budget={"times": 1},
    )
    assert isinstance(rule, FaultRule)
    assert rule.services == ("compute",) and not rule.stack_wide
    assert rule.rule["match"]["service"] == "compute"
    assert rule.rule["budget"]["times"] == 1
    assert (rule.matched, rule.fired) == (0, 0)
    with pytest.raises(UnderstudyError) as e:
        create_server("doomed")
    assert e.value.status == 500
    assert e.value.body == {"computeFault": {"code": 500, "message": "boom"}}
    create_server("fine")
    assert rule.refresh() is rule
    assert (rule.matched, rule.fired) == (2, 1)
    assert rule.counters["compute"].fired == 1
    fired = understudy.journal(rule=rule)
    assert [(e.service, e.method, e.status) for e in fired] == [("compute", "POST", 500)]


def test_a_rule_in_the_apis_json_shape_naming_its_service(
    understudy: Understudy, understudy_tenant: Tenant
) -> None:
    rule = understudy.faults.add(
        {
            "match": {"service": "lb", "method": "GET"},
            "action": {"type": "error", "status": 503},
            "budget": {"times": 1},
            "priority": 5,
            "description": "LB is down once",
        }
    )
    assert rule.services == ("lb",)
    assert rule.rule["priority"] == 5 and rule.rule["description"] == "LB is down once"
    assert understudy_tenant.lb_url is not None
    with pytest.raises(UnderstudyError) as e:
        understudy_tenant.get(f"{understudy_tenant.lb_url}/loadbalancers")
    assert e.value.status == 503
    understudy_tenant.get("/flavors")  # Compute is not concerned
    assert rule.refresh().fired == 1
    with pytest.raises(ValueError):
        understudy.faults.add(service="compute", match={"service": "lb"}, action=DELAY)
    with pytest.raises(ValueError):
        understudy.faults.add(match=INERT)


def test_a_rule_without_service_is_kept_by_every_mock(
    understudy: Understudy, understudy_tenant: Tenant
) -> None:
    rule = understudy.faults.add(
        action={"type": "error", "status": 503, "message": "down"}, budget={"times": 1}
    )
    assert rule.stack_wide
    assert sorted(rule.services) == ["compute", "identity", "lb"]
    assert rule.rule["match"]["service"] is None
    # Each mock fails its own next request: the budget counts per service.
    with pytest.raises(UnderstudyError) as identity:
        understudy.tenant()
    with pytest.raises(UnderstudyError) as compute:
        understudy_tenant.get("/flavors")
    assert understudy_tenant.lb_url is not None
    with pytest.raises(UnderstudyError) as lb:
        understudy_tenant.get(f"{understudy_tenant.lb_url}/loadbalancers")
    assert identity.value.status == compute.value.status == lb.value.status == 503
    understudy_tenant.get("/flavors")
    rule.refresh()
    assert rule.fired == 3
    assert {s: c.fired for s, c in rule.counters.items()} == {"identity": 1, "compute": 1, "lb": 1}
    assert understudy.faults.get(rule.id).fired == 3
    services = {e.service for e in understudy.journal(rule=rule.id)}
    assert services == {"identity", "compute", "lb"}


def test_list_get_remove_clear(understudy: Understudy) -> None:
    one = understudy.faults.add(service="compute", match=INERT, action=DELAY)
    stack = understudy.faults.add(match=INERT, action=DELAY, id="my-own-id")
    assert stack.id == "my-own-id"
    listed = {r.id: r for r in understudy.faults.list()}
    assert set(listed) == {one.id, "my-own-id"}
    assert listed[one.id].services == ("compute",)
    assert sorted(listed["my-own-id"].services) == ["compute", "identity", "lb"]
    got = understudy.faults.get(one)
    assert got.id == one.id and got.rule["action"]["type"] == "delay"
    understudy.faults.remove(one.id)
    with pytest.raises(UnderstudyError) as e:
        understudy.faults.get(one.id)
    assert e.value.status == 404
    with pytest.raises(UnderstudyError):
        understudy.faults.remove(one.id)
    understudy.faults.remove(one.id, missing_ok=True)
    with pytest.raises(UnderstudyError):
        one.refresh()
    # A stack-wide rule goes from every mock.
    stack.remove()
    assert understudy.faults.list() == []
    understudy.faults.add(match=INERT, action=DELAY)
    understudy.faults.add(service="lb", match=INERT, action=DELAY)
    understudy.faults.clear()
    assert understudy.faults.list() == []


def test_injected_removes_its_rule_even_when_the_block_fails(understudy: Understudy) -> None:
    with understudy.faults.injected(service="compute", match=INERT, action=DELAY) as rule:
        assert [r.id for r in understudy.faults.list()] == [rule.id]
    assert understudy.faults.list() == []
    with pytest.raises(RuntimeError):
        with understudy.faults.injected(match=INERT, action=DELAY):
            assert len(understudy.faults.list()) == 1
            raise RuntimeError("the test failed")
    assert understudy.faults.list() == []
    # What add() returns is a context manager too; a rule already gone is fine.
    with understudy.faults.add(service="lb", match=INERT, action=DELAY) as added:
        understudy.faults.clear()
    assert added.services == ("lb",)


def test_rule_budgets_with_timestamps(understudy: Understudy, understudy_tenant: Tenant) -> None:
    understudy.clock.freeze(at=utc(2030, 1, 1))
    rule = understudy.faults.add(
        service="compute",
        match={"method": "GET"},
        action={"type": "error", "status": 500},
        budget={"from": utc(2030, 1, 1, 1), "until": utc(2030, 1, 1, 2)},
    )
    assert parse_time(rule.rule["budget"]["from"]) == utc(2030, 1, 1, 1)
    understudy_tenant.get("/flavors")  # before the window
    understudy.clock.advance(timedelta(hours=1, minutes=30))
    with pytest.raises(UnderstudyError):
        understudy_tenant.get("/flavors")
    assert rule.refresh().fired == 1


# ------------------------------------------------------------------------------- clock


def test_clock_reads_and_moves_every_mock(understudy: Understudy) -> None:
    reading = understudy.clock.get()
    assert reading.mode == "running" and not reading.frozen
    assert abs((understudy.clock.now() - datetime.now(timezone.utc)).total_seconds()) < 5
    at = understudy.clock.freeze(at=utc(2030, 1, 1))
    assert at == utc(2030, 1, 1)
    for service in ("identity", "compute", "lb"):
        assert understudy.clock.get(service).now == utc(2030, 1, 1)
    assert understudy.clock.advance(90) == utc(2030, 1, 1, 0, 1, 30)
    # Forward only: going back is set; a refused move or tick changes nothing.
    for back in (understudy.clock.advance, understudy.clock.tick):
        with pytest.raises(UnderstudyError) as e:
            back(timedelta(seconds=-30))
        assert e.value.status == 400
        assert e.value.message == "seconds must be a finite number, 0 or more"
    assert understudy.clock.now() == utc(2030, 1, 1, 0, 1, 30)
    assert understudy.clock.set("2031-06-01T12:00:00Z") == utc(2031, 6, 1, 12)
    assert understudy.clock.get().frozen, "set keeps the mode"
    assert understudy.clock.get("lb").now == utc(2031, 6, 1, 12)


def test_tick_freezes_then_moves_by_exactly_its_amount(understudy: Understudy) -> None:
    first = understudy.clock.tick(5)
    second = understudy.clock.tick(2.5)
    assert second - first == timedelta(seconds=2.5)
    assert understudy.clock.get().frozen
    assert understudy.clock.now() == second, "time stands still between ticks"
    assert understudy.clock.get("compute").now == second


def test_unfreeze_set_reset_restore(understudy: Understudy) -> None:
    understudy.clock.freeze(at=utc(2030, 1, 1))
    understudy.clock.unfreeze()
    reading = understudy.clock.get()
    assert reading.mode == "running"
    assert utc(2030, 1, 1) <= reading.now < utc(2030, 1, 1, 0, 1)
    understudy.clock.set(datetime(2032, 1, 1))  # naive: UTC
    assert utc(2032, 1, 1) <= understudy.clock.now() < utc(2032, 1, 1, 0, 1)
    assert not understudy.clock.get().frozen
    saved = understudy.clock.get()
    wall = understudy.clock.reset()
    assert abs((wall - datetime.now(timezone.utc)).total_seconds()) < 5
    assert understudy.clock.get().offset_ms == 0
    understudy.clock.restore(saved)
    assert understudy.clock.get().offset_ms == saved.offset_ms
    understudy.clock.restore({"mode": "frozen", "at": "2033-01-01T00:00:00Z"})
    assert understudy.clock.get("lb").now == utc(2033, 1, 1)


def test_frozen_block_lets_time_run_again_afterwards(understudy: Understudy) -> None:
    with understudy.clock.frozen(at=utc(2030, 1, 1)) as now:
        assert now == utc(2030, 1, 1)
        understudy.clock.advance(60)
        assert understudy.clock.get().frozen
    after = understudy.clock.get()
    assert after.mode == "running"
    assert utc(2030, 1, 1, 0, 1) <= after.now < utc(2030, 1, 1, 0, 2), "runs on from where it stood"
    # A clock frozen before the block stays frozen after it.
    understudy.clock.freeze(at=utc(2040, 1, 1))
    with understudy.clock.frozen():
        understudy.clock.advance(1)
    assert understudy.clock.get().frozen and understudy.clock.now() == utc(2040, 1, 1, 0, 0, 1)


# ------------------------------------------------------------------------------- reset


def test_reset_forgets_records_rules_behaviours_and_journal(
    understudy: Understudy, understudy_tenant: Tenant, create_server: Any
) -> None:
    server = create_server("short-lived")
    understudy.faults.add(match=INERT, action=DELAY)
    understudy.nova.creation_behavior(understudy_tenant, "build", {"duration": 5})
    understudy.clock.advance(100)
    offset = understudy.clock.get().offset_ms
    understudy.reset()
    with pytest.raises(UnderstudyError) as e:
        understudy_tenant.get(f"/servers/{server}")
    assert e.value.status == 404
    assert understudy.faults.list() == []
    assert not understudy.journal(method="POST", path=servers_path(understudy_tenant))
    assert "creation" not in json.dumps(understudy.state())
    assert understudy.clock.get().offset_ms == offset, "the clock is not state"


def test_reset_of_one_tenant(
    understudy: Understudy, understudy_tenant: Tenant, create_server: Any
) -> None:
    other = understudy.tenant()
    mine = create_server("mine")
    theirs = create_server("theirs", tenant=other)
    understudy.reset(tenant=understudy_tenant)
    with pytest.raises(UnderstudyError):
        understudy_tenant.get(f"/servers/{mine}")
    assert other.get(f"/servers/{theirs}")["server"]["id"] == theirs


# ----------------------------------------------------------------------------- journal


def test_journal_is_the_stacks_timeline_with_filters(
    understudy: Understudy, understudy_tenant: Tenant, create_server: Any
) -> None:
    understudy.clock.freeze(at=utc(2030, 1, 1))
    first = create_server("a")
    understudy.clock.set(utc(2030, 1, 1, 1))
    second = create_server("b")
    understudy_tenant.get(f"/servers/{second}")

    everything = understudy.journal()
    assert all(isinstance(e, JournalEntry) for e in everything)
    assert {"identity", "compute"} <= {e.service for e in everything}
    times = [e.time for e in everything]
    assert times == sorted(times), "one timeline, oldest first"

    path = servers_path(understudy_tenant)
    posts = understudy.journal(service="compute", method="POST", path=path)
    assert [(e.method, e.status, e.tenant) for e in posts] == [
        ("POST", 202, understudy_tenant.tenant_id)
    ] * 2
    assert posts[0].time == utc(2030, 1, 1) and posts[1].time == utc(2030, 1, 1, 1)
    assert str(posts[0]).startswith(f"compute POST {path} -> 202")
    assert understudy.journal(method="post", path=path, tenant=understudy_tenant)[0].seq == posts[0].seq
    assert [e.time for e in understudy.journal(path=path, since=utc(2030, 1, 1, 0, 30))] == [
        utc(2030, 1, 1, 1)
    ] * 2
    assert [e.method for e in understudy.journal(path=path, until=utc(2030, 1, 1, 0, 30))] == ["POST"]
    assert len(understudy.journal(path=path, status=200)) == 1
    assert len(understudy.journal(limit=1)) == 1
    assert understudy.journal(service="lb", path=path) == []
    assert first != second
    understudy.clear_journal()
    assert understudy.journal(path=path) == []


def test_journal_har_is_a_har_1_2_document(
    understudy: Understudy, understudy_tenant: Tenant, create_server: Any
) -> None:
    """GET /_understudy/v1/journal.har?scope=stack&... (the same filters as /journal)."""
    server = create_server("har")
    understudy_tenant.get(f"/servers/{server}")
    har = understudy.journal_har()
    log = har["log"]
    assert log["version"] == "1.2"
    assert isinstance(log["creator"]["name"], str) and isinstance(log["creator"]["version"], str)
    entries = log["entries"]
    for e in entries:
        for key in ("startedDateTime", "time", "request", "response", "cache", "timings"):
            assert key in e, f"HAR entries need {key}"
        for key in ("method", "url", "httpVersion", "cookies", "headers", "queryString", "headersSize", "bodySize"):
            assert key in e["request"], f"HAR requests need {key}"
        for key in ("status", "statusText", "httpVersion", "cookies", "headers", "content", "redirectURL", "headersSize", "bodySize"):
            assert key in e["response"], f"HAR responses need {key}"
        assert e["request"]["url"].startswith("http"), "HAR URLs are absolute"
    started = [parse_time(e["startedDateTime"]) for e in entries]
    assert started == sorted(started), "one timeline, oldest first"
    # Both mocks' requests: the tenant's authentication on Identity, the server on Compute.
    calls = {(e["request"]["method"], urlsplit(e["request"]["url"]).path, e["response"]["status"]) for e in entries}
    assert ("POST", "/v2.0/tokens", 200) in calls
    assert ("POST", servers_path(understudy_tenant), 202) in calls
    assert ("GET", f"{servers_path(understudy_tenant)}/{server}", 200) in calls

    # The same filters as /journal, and the same entries.
    path = servers_path(understudy_tenant)
    filtered = understudy.journal_har(service="compute", method="POST", path=path)["log"]["entries"]
    assert [(e["request"]["method"], e["response"]["status"]) for e in filtered] == [("POST", 202)]
    assert len(understudy.journal_har(path=path)["log"]["entries"]) == len(understudy.journal(path=path))
    assert len(understudy.journal_har(limit=1)["log"]["entries"]) == 1
    future = understudy.clock.now() + timedelta(days=1)
    assert understudy.journal_har(since=future)["log"]["entries"] == []


# ------------------------------------------------------------------------------- state


def test_state_lists_every_mocks_records(
    understudy: Understudy, understudy_tenant: Tenant, create_server: Any
) -> None:
    server = create_server("in-the-snapshot")
    state = understudy.state()
    services = {s["service"]: s for s in state["services"]}
    assert set(services) >= {"identity", "compute", "lb"}
    assert server in json.dumps(services["compute"]["tables"])
    assert "clock" in services["lb"]


def test_load_state_puts_back_what_state_returned(
    understudy: Understudy, understudy_tenant: Tenant, create_server: Any
) -> None:
    """PUT /_understudy/v1/state?scope=stack with exactly what GET ...state?scope=stack gave."""
    server = create_server("restored")
    rule = understudy.faults.add(service="compute", match=INERT, action=DELAY)
    snapshot = understudy.state()
    understudy.reset()
    with pytest.raises(UnderstudyError):
        understudy_tenant.get(f"/servers/{server}")
    understudy.load_state(snapshot)
    assert understudy_tenant.get(f"/servers/{server}")["server"]["status"] == "ACTIVE"
    assert [r.id for r in understudy.faults.list()] == [rule.id]
    tables = {s["service"]: s["tables"] for s in understudy.state()["services"]}
    assert tables == {s["service"]: s["tables"] for s in snapshot["services"]}


# -------------------------------------------------------------------------- behaviours


def test_creation_behavior_build_until_the_clock_moves(
    understudy: Understudy, understudy_tenant: Tenant, create_server: Any, server_status: Any
) -> None:
    with understudy.nova.creation_behavior(
        understudy_tenant, "build", {"duration": 60}, {"server_name": "slow-.*"}
    ) as behavior:
        assert behavior.id and behavior.event == "creation" and behavior.name == "build"
        assert behavior.url.startswith(f"{understudy_tenant.compute_behavior_url}/behaviors/creation/")
        slow = create_server("slow-1")
        fast = create_server("fast-1")
        assert server_status(slow) == "BUILD"
        assert server_status(fast) == "ACTIVE"
        understudy.clock.tick(59)
        assert server_status(slow) == "BUILD"
        understudy.clock.tick(2)
        assert server_status(slow) == "ACTIVE"
    assert server_status(create_server("slow-2")) == "ACTIVE", "the behaviour is gone"
    with pytest.raises(UnderstudyError) as e:
        behavior.remove()
    assert e.value.status == 404
    behavior.remove(missing_ok=True)


def test_creation_behavior_by_tenant_id_and_region(
    understudy: Understudy, understudy_tenant: Tenant, create_server: Any
) -> None:
    t = understudy_tenant
    with pytest.raises(ValueError):
        understudy.nova.creation_behavior(t.tenant_id, "fail", {})
    behavior = understudy.nova.creation_behavior(
        t.tenant_id, "fail", {"code": 500, "message": "no room"}, [{"server_name": "x"}], region=t.region
    )
    assert behavior.url.startswith(f"{t.compute_behavior_url}/")
    with pytest.raises(UnderstudyError) as e:
        create_server("x1")
    assert e.value.status == 500 and e.value.message == "no room"
    behavior.remove()
    create_server("x2")
    with pytest.raises(UnderstudyError) as bad:
        understudy.nova.creation_behavior(t, "fail", {"code": 7})
    assert bad.value.status == 400, "a code that is not an HTTP status registers nothing"
    other_region = understudy.nova.creation_behavior(t, "fail", {}, region="ORD")
    assert "/mimic/ORD/" in other_region.url
    create_server("x3")  # DFW is not concerned


def test_set_status(understudy: Understudy, understudy_tenant: Tenant, create_server: Any, server_status: Any) -> None:
    server = create_server("doomed")
    understudy.nova.set_status(understudy_tenant, {server: "ERROR"})
    assert server_status(server) == "ERROR"
    with pytest.raises(UnderstudyError) as e:
        understudy.nova.set_status(understudy_tenant, {"no-such-server": "ERROR"})
    assert e.value.status == 400


def test_auth_behavior(understudy: Understudy) -> None:
    with understudy.identity.auth_behavior(
        "fail",
        {"code": 503, "message": "Identity is down", "type": "serviceUnavailable"},
        {"username": "unlucky-.*"},
    ) as behavior:
        assert behavior.event == "auth"
        with pytest.raises(UnderstudyError) as e:
            understudy.tenant(username="unlucky-1")
        assert e.value.status == 503
        assert e.value.body == {"serviceUnavailable": {"code": 503, "message": "Identity is down"}}
        understudy.tenant(username="lucky-1")
    understudy.tenant(username="unlucky-2")


# --------------------------------------------------------------------------- admin token


def test_admin_token_guards_control_and_mimic_calls(tmp_path: Any) -> None:
    binary = find_binary()
    assert binary is not None
    with LocalStack(binary, admin_token="s3cret", log_path=tmp_path / "stack.log") as us:
        assert us.admin_token == "s3cret"
        assert us.faults.list() == []
        rule = us.faults.add(service="compute", match=INERT, action=DELAY)
        tenant = us.tenant()
        behavior = us.nova.creation_behavior(tenant, "build", {"duration": 1})
        auth = us.identity.auth_behavior("fail", {}, {"username": "nobody"})
        us.clock.tick(1)

        anonymous = Understudy(us.url)
        assert anonymous.health()["status"] == "ok", "health stays open"
        assert anonymous.catalog()["services"], "so does the catalog"
        for call in (
            anonymous.faults.list,
            lambda: anonymous.faults.remove(rule.id),
            lambda: anonymous.clock.advance(1),
            anonymous.state,
            lambda: anonymous.nova.creation_behavior(tenant, "build", {"duration": 1}),
            lambda: anonymous.identity.auth_behavior("fail", {}),
        ):
            with pytest.raises(UnderstudyError) as e:
                call()
            assert e.value.status == 401
        behavior.remove()
        auth.remove()
        rule.remove()


def test_external_api_reaches_the_catalogs_it_is_meant_for(understudy: Understudy) -> None:
    url = "https://queues.example/v1/%tenant_id%"
    with understudy.identity.external_api("suiteQueues", "rax:queues", url) as api:
        tenant = understudy.tenant()
        entry = next(e for e in tenant.catalog if e["name"] == "suiteQueues")
        assert entry["type"] == "rax:queues"
        assert entry["endpoints"][0]["publicURL"] == f"https://queues.example/v1/{tenant.tenant_id}"
        assert tenant.endpoint("suiteQueues", "ORD") == f"https://queues.example/v1/{tenant.tenant_id}"
        assert api.template_ids == [f"{api.id}-ORD"]
    later = understudy.tenant()
    assert all(e["name"] != "suiteQueues" for e in later.catalog), "removed with the block"

    with understudy.identity.external_api("privateQueues", "rax:queues", url, everyone=False) as api:
        chosen, other = understudy.tenant(), understudy.tenant()
        api.enable(chosen)
        mine = understudy.tenant(username=chosen.username)
        assert mine.endpoint("privateQueues", "ORD").endswith(f"/v1/{chosen.tenant_id}")
        theirs = understudy.tenant(username=other.username).catalog
        assert all(e["name"] != "privateQueues" for e in theirs)
        api.disable(chosen)
        with pytest.raises(UnderstudyError) as e:
            api.disable(chosen)
        assert e.value.status == 404
        assert e.value.body == {"itemNotFound": {"code": 404, "message": "Template not enabled for tenant"}}
