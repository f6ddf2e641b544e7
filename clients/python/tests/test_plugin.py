"""The pytest plugin, through inner suites run with `pytester` against the same stack
(or, where the plugin must start one, against the binary)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from understudy import Understudy, UnderstudyError, find_binary
from understudy.pytest_plugin import _safe_name

@pytest.fixture
def inner(pytester: pytest.Pytester, understudy: Understudy, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytester whose suites use this session's stack."""
    monkeypatch.setenv("UNDERSTUDY_URL", understudy.url)
    monkeypatch.delenv("UNDERSTUDY_ADMIN_TOKEN", raising=False)
    return pytester


A_FAILING_SUITE = """
import pytest

def test_passes(understudy_tenant):
    understudy_tenant.get("/flavors")

@pytest.mark.understudy_keep_state
def test_fails_on_purpose(understudy, understudy_tenant):
    understudy_tenant.get("/images")
    understudy.faults.add(service="compute", match={"path": "/nowhere"}, action={"type": "drop"})
    assert False, "on purpose"
"""


def _failed_call(reprec: Any) -> pytest.TestReport:
    failed = [
        r for r in reprec.getreports("pytest_runtest_logreport") if r.when == "call" and r.failed
    ]
    assert len(failed) == 1, failed
    report: pytest.TestReport = failed[0]
    return report


def _paths(entries: list[dict[str, Any]]) -> list[str]:
    return [f"{e['method']} {e['path'].rsplit('/', 1)[-1]}" for e in entries if not e["path"].startswith("/_understudy/")]


def test_the_marker_is_registered(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["*understudy_keep_state*"])
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*--understudy-url=URL*", "*--understudy-artifacts=DIR*"])


def test_each_test_starts_on_a_clean_stack_unless_marked(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import pytest

        INERT = {"match": {"path": "/nowhere"}, "action": {"type": "delay", "ms": 1}}

        def test_1_dirties_the_stack(understudy, understudy_tenant):
            understudy.faults.add(INERT)
            understudy.nova.creation_behavior(understudy_tenant, "build", {"duration": 9})
            understudy.clock.freeze(at="2030-01-01T00:00:00Z")

        def test_2_finds_it_clean(understudy):
            assert understudy.faults.list() == []
            assert not understudy.clock.get().frozen
            assert "creation" not in str(understudy.state())
            understudy.faults.add(INERT)
            understudy.clock.freeze(at="2030-01-01T00:00:00Z")

        @pytest.mark.understudy_keep_state
        def test_3_keeps_it(understudy):
            assert len(understudy.faults.list()) == 1
            assert understudy.clock.get().frozen

        def test_4_no_stack_needed():
            pass
        """
    )
    result = inner.runpytest("--strict-markers", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)


def test_tenants_are_unique_and_authenticated(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        SEEN = []

        def test_a(understudy_tenant):
            SEEN.append(understudy_tenant.tenant_id)
            assert understudy_tenant.get("/flavors")

        def test_b(understudy, understudy_tenant):
            SEEN.append(understudy_tenant.tenant_id)
            assert len(set(SEEN)) == 2
            assert understudy_tenant.compute_url.startswith(understudy.service_url("compute"))
            assert understudy_tenant.lb_url.startswith(understudy.service_url("lb"))
        """
    )
    inner.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_a_failing_test_gets_its_journal_and_the_state(inner: pytest.Pytester, tmp_path: Path) -> None:
    inner.makepyfile(test_inner=A_FAILING_SUITE)
    artifacts = tmp_path / "artifacts"
    reprec = inner.inline_run(f"--understudy-artifacts={artifacts}", "-p", "no:cacheprovider")
    reprec.assertoutcome(passed=1, failed=1)
    report = _failed_call(reprec)
    directory = artifacts / _safe_name(report.nodeid)
    assert directory.name == "test_inner.py_test_fails_on_purpose"

    journal = json.loads((directory / "journal.json").read_text())
    # Only this test's requests: not test_passes' GET /flavors, though the state was kept.
    assert _paths(journal) == ["POST tokens", "GET images"]
    state = json.loads((directory / "state.json").read_text())
    services = {s["service"]: s for s in state["services"]}
    assert set(services) >= {"identity", "compute", "lb"}
    assert "/nowhere" in json.dumps(services["compute"]["tables"]["fault_rules"])

    sections = dict(report.sections)
    assert f"JSON: {directory / 'journal.json'}" in sections["understudy journal"]
    assert "GET /DFW/v2/" in sections["understudy journal"] and "/images -> 200" in sections["understudy journal"]
    assert "/flavors" not in sections["understudy journal"]
    assert sections["understudy state"].startswith(str(directory / "state.json"))
    assert "\ncompute: " in sections["understudy state"]
    props = dict(report.user_properties)
    assert props["understudy_journal"] == str(directory / "journal.json")
    assert props["understudy_state"] == str(directory / "state.json")
    # The passing test left nothing behind.
    assert [p.name for p in artifacts.iterdir()] == [directory.name]


def test_a_failing_test_gets_its_journal_as_har(inner: pytest.Pytester, tmp_path: Path) -> None:
    """Needs GET /_understudy/v1/journal.har?scope=stack&since=<the test's start>."""
    inner.makepyfile(test_inner=A_FAILING_SUITE)
    artifacts = tmp_path / "artifacts"
    reprec = inner.inline_run(f"--understudy-artifacts={artifacts}", "-p", "no:cacheprovider")
    report = _failed_call(reprec)
    directory = artifacts / _safe_name(report.nodeid)
    sections = dict(report.sections)
    assert f"HAR: {directory / 'journal.har'}" in sections["understudy journal"], sections["understudy journal"]
    assert dict(report.user_properties)["understudy_har"] == str(directory / "journal.har")
    har = json.loads((directory / "journal.har").read_text())
    assert har["log"]["version"] == "1.2"
    urls = [e["request"]["url"] for e in har["log"]["entries"]]
    assert any(u.endswith("/v2.0/tokens") for u in urls)
    assert any(u.endswith("/images") for u in urls)
    assert not any(u.endswith("/flavors") for u in urls), "only the failing test's requests"


def test_full_and_off_attachments(inner: pytest.Pytester, tmp_path: Path) -> None:
    inner.makepyfile(test_inner=A_FAILING_SUITE)
    full = tmp_path / "full"
    reprec = inner.inline_run(f"--understudy-artifacts={full}", "--understudy-attach=full", "-p", "no:cacheprovider")
    sections = dict(_failed_call(reprec).sections)
    assert "understudy journal (HAR)" in sections
    state = json.loads(sections["understudy state"])
    assert {s["service"] for s in state["services"]} >= {"identity", "compute", "lb"}

    off = tmp_path / "off"
    reprec = inner.inline_run(f"--understudy-artifacts={off}", "--understudy-attach=off", "-p", "no:cacheprovider")
    report = _failed_call(reprec)
    assert not any(title.startswith("understudy") for title, _ in report.sections)
    assert not off.exists()


def test_the_failure_report_shows_the_requests(inner: pytest.Pytester, tmp_path: Path) -> None:
    inner.makepyfile(test_inner=A_FAILING_SUITE)
    result = inner.runpytest(f"--understudy-artifacts={tmp_path}", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*- understudy journal -*",
            "*identity  POST /v2.0/tokens -> 200",
            "*compute  GET /DFW/v2/*/images -> 200",
            "*- understudy state -*",
            "understudy: journal and state of 1 failed test(s) in *",
        ]
    )


def test_the_plugin_starts_and_stops_the_binary(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    binary = find_binary()
    assert binary is not None and os.path.exists(binary)
    monkeypatch.delenv("UNDERSTUDY_URL", raising=False)
    monkeypatch.setenv("UNDERSTUDY_BIN", binary)
    record = tmp_path / "url"
    pytester.makepyfile(
        f"""
        def test_records_its_stack(understudy, understudy_tenant):
            assert understudy.ready()
            assert understudy_tenant.get("/flavors")
            open({str(record)!r}, "w").write(understudy.url)
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    url = record.read_text()
    with pytest.raises(UnderstudyError) as e:
        Understudy(url, timeout=5).health()
    assert e.value.status == 0, "the stack is stopped at the end of the session"


def test_without_a_stack_only_the_tests_that_need_one_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("UNDERSTUDY_URL", raising=False)
    monkeypatch.delenv("UNDERSTUDY_BIN", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    pytester.makepyfile(
        """
        def test_needs_no_stack():
            pass

        def test_needs_one(understudy):
            pass
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*understudy: no stack. Set UNDERSTUDY_URL*"])

    result = pytester.runpytest("-p", "no:cacheprovider", f"--understudy-bin={tmp_path / 'missing'}")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*understudy: cannot run*missing*"])


def test_an_admin_token_reaches_the_stack_the_plugin_starts(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("UNDERSTUDY_URL", raising=False)
    monkeypatch.delenv("UNDERSTUDY_ADMIN_TOKEN", raising=False)
    pytester.makepyfile(
        """
        import pytest
        from understudy import Understudy, UnderstudyError

        def test_guarded(understudy, understudy_tenant):
            assert understudy.admin_token == "s3cret"
            understudy.faults.add(match={"path": "/nowhere"}, action={"type": "drop"})
            with understudy.nova.creation_behavior(understudy_tenant, "build", {"duration": 1}):
                pass
            with pytest.raises(UnderstudyError) as e:
                Understudy(understudy.url).faults.list()
            assert e.value.status == 401

        def test_reset_with_the_token(understudy):
            assert understudy.faults.list() == []
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "--understudy-admin-token=s3cret")
    result.assert_outcomes(passed=2)
