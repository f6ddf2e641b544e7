"""The autoscaler's tests, written against Understudy the way a user would.

Run:  pip install ./clients/python   (the client and its pytest plugin), then
      UNDERSTUDY_BIN=target/debug/understudy pytest clients/python/examples/
(or UNDERSTUDY_URL=http://localhost:5000 against a stack that is already running).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from autoscaler import Nova, NovaError, ScalingGroup
from understudy import Tenant, Understudy


@pytest.fixture
def group(understudy_tenant: Tenant) -> ScalingGroup:
    """A scaling group of the tenant, speaking to Nova with the tenant's token."""
    assert understudy_tenant.compute_url is not None
    nova = Nova(understudy_tenant.compute_url, understudy_tenant.token)
    image = nova.call("GET", "/images")["images"][0]["id"]
    return ScalingGroup(nova, name="web", image=image)


def servers_path(tenant: Tenant) -> str:
    assert tenant.compute_url is not None
    return urlsplit(tenant.compute_url).path + "/servers"


def test_servers_stuck_in_build_are_active_after_the_tick(
    understudy: Understudy, understudy_tenant: Tenant, group: ScalingGroup
) -> None:
    # Mimic's creation behaviour: servers named web-* stay in BUILD for ten minutes.
    with understudy.nova.creation_behavior(
        understudy_tenant, "build", {"duration": 600}, criteria={"server_name": "web-.*"}
    ):
        created = group.scale_up(3)

    assert set(group.statuses().values()) == {"BUILD"}
    assert group.active() == []

    understudy.clock.tick(599)
    assert group.active() == [], "still building a second before the ten minutes"

    understudy.clock.tick(2)
    assert group.active() == created

    # The autoscaler sent exactly three creates, each accepted.
    creates = understudy.journal(
        service="compute", method="POST", path=servers_path(understudy_tenant)
    )
    assert [(e.method, e.status, e.tenant) for e in creates] == [
        ("POST", 202, understudy_tenant.tenant_id)
    ] * 3


def test_server_building_metadata_as_in_mimic(
    understudy: Understudy, understudy_tenant: Tenant, group: ScalingGroup
) -> None:
    # Mimic's metadata key: this launch configuration's servers build for 30 s.
    group.metadata["server_building"] = "30"
    (server,) = group.scale_up(1)
    assert group.statuses() == {server: "BUILD"}
    understudy.clock.tick(31)
    assert group.statuses() == {server: "ACTIVE"}


def test_a_create_that_fails_once_is_retried(
    understudy: Understudy, understudy_tenant: Tenant, group: ScalingGroup
) -> None:
    with understudy.faults.injected(
        service="compute",
        match={"method": "POST", "path": "/**/servers"},
        action={"type": "error", "status": 500, "kind": "computeFault", "message": "No valid host"},
        budget={"times": 1},
    ) as rule:
        created = group.scale_up(2)
        assert rule.refresh().fired == 1

    assert len(created) == 2 and group.active() == created
    (failure,) = understudy.journal(rule=rule)
    assert (failure.method, failure.status) == ("POST", 500)
    statuses = [
        e.status
        for e in understudy.journal(method="POST", path=servers_path(understudy_tenant))
    ]
    assert statuses == [500, 202, 202]


def test_the_autoscaler_gives_up_when_nova_keeps_failing(
    understudy: Understudy, group: ScalingGroup
) -> None:
    with understudy.faults.injected(
        service="compute",
        match={"method": "POST"},
        action={"type": "error", "status": 503, "kind": "serviceUnavailable"},
    ) as rule:
        with pytest.raises(NovaError) as e:
            group.scale_up(1)
        assert rule.refresh().fired == group.retries + 1
    assert e.value.status == 503
    assert group.servers == []
    assert len(understudy.journal(rule=rule)) == group.retries + 1
