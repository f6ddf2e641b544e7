"""Apache Libcloud's Rackspace drivers against Understudy: the next-gen compute driver
(cloudServersOpenStack) and the Cloud Load Balancers driver (cloudLoadBalancers), both
authenticating with Keystone v2 (RAX-KSKEY API key when one is known, else password)."""

import warnings

warnings.simplefilter("ignore")

from libcloud.common.types import InvalidCredsError  # noqa: E402
from libcloud.compute.providers import get_driver as get_compute_driver  # noqa: E402
from libcloud.compute.types import NodeState  # noqa: E402
from libcloud.compute.types import Provider as ComputeProvider  # noqa: E402
from libcloud.loadbalancer.base import Algorithm, Member  # noqa: E402
from libcloud.loadbalancer.providers import get_driver as get_lb_driver  # noqa: E402
from libcloud.loadbalancer.types import Provider as LBProvider  # noqa: E402
from libcloud.loadbalancer.types import State as LBState  # noqa: E402

from common import (  # noqa: E402
    BAD_PASSWORD,
    IDENTITY_URL,
    REGION,
    STRICT,
    Creds,
    Suite,
    check,
    unique,
    wait_for,
)

suite = Suite("libcloud")
creds = Creds("libcloud", "930001")


def driver_kwargs(secret=None):
    """(secret, kwargs): the API key with RAX-KSKEY auth ("2.0"), else the password."""
    if secret is None:
        if creds.api_key:
            secret, version = creds.api_key, "2.0_apikey"
        else:
            secret, version = creds.password, "2.0_password"
    else:
        version = "2.0_password"
    kwargs = {
        "region": REGION.lower(),
        "ex_force_auth_url": IDENTITY_URL,
        "ex_force_auth_version": version,
    }
    if creds.tenant_id:
        kwargs["ex_tenant_name"] = creds.tenant_id
    return secret, kwargs


def compute(secret=None):
    secret, kwargs = driver_kwargs(secret)
    return get_compute_driver(ComputeProvider.RACKSPACE)(creds.username, secret, **kwargs)


def clb(secret=None):
    secret, kwargs = driver_kwargs(secret)
    return get_lb_driver(LBProvider.RACKSPACE)(creds.username, secret, **kwargs)


def compute_lifecycle():
    drv = compute()
    suite.step("list sizes (authenticates)")
    sizes = drv.list_sizes()
    check(sizes, "no sizes")
    suite.step("compute endpoint from the catalog")
    ep = drv.connection.get_endpoint()
    check("/mimic/" not in ep, "the compute endpoint is a Mimic control URL: %s" % ep)
    check("/%s/" % REGION in ep, "endpoint %s is not in %s" % (ep, REGION))
    size = min(sizes, key=lambda s: (s.ram, s.id))
    suite.step("list images")
    images = drv.list_images()
    check(images, "no images")
    image = images[0]

    suite.step("create node")
    name = unique("lc")
    node = drv.create_node(name=name, size=size, image=image, ex_metadata={"created-by": "libcloud"})
    try:
        check(node.id, "create_node returned no id")
        suite.step("wait until running")

        def running():
            n = drv.ex_get_node_details(node.id)
            check(n is not None, "node %s vanished" % node.id)
            if n.state == NodeState.ERROR:
                raise AssertionError("node went to ERROR: %r" % n.extra)
            return n if n.state == NodeState.RUNNING else None

        n = wait_for("node %s running" % node.id, running)
        check(n.name == name, "name %r, expected %r" % (n.name, name))

        suite.step("set metadata")
        drv.ex_set_metadata(n, {"role": "sdk-test", "created-by": "libcloud"})
        suite.step("get metadata")
        md = drv.ex_get_metadata(n)
        check(md.get("role") == "sdk-test", "metadata %r after ex_set_metadata" % md)

        suite.step("list nodes")
        check(node.id in [x.id for x in drv.list_nodes()], "node %s not listed" % node.id)
    finally:
        suite.step("destroy node")
        ok = drv.destroy_node(node)
    check(ok, "destroy_node returned %r" % ok)
    suite.step("wait for deletion")
    wait_for("node %s gone" % node.id, lambda: drv.ex_get_node_details(node.id) is None)


def clb_lifecycle():
    drv = clb()
    suite.step("list protocols (authenticates)")
    protocols = drv.list_protocols()
    check("http" in protocols, "protocols %r lack http" % protocols)
    suite.step("load balancer endpoint from the catalog")
    ep = drv.connection.get_endpoint()
    check("/mimic/" not in ep, "the load balancer endpoint is a Mimic control URL: %s" % ep)

    suite.step("create balancer")
    name = unique("lclb")
    lb = drv.create_balancer(
        name=name,
        port=80,
        protocol="http",
        algorithm=Algorithm.ROUND_ROBIN,
        members=[Member(None, "10.1.0.1", 80)],
    )
    try:
        check(lb.id, "create_balancer returned no id")

        def active():
            b = drv.get_balancer(lb.id)
            if b.state == LBState.ERROR:
                raise AssertionError("balancer went to ERROR")
            return b if b.state == LBState.RUNNING else None

        suite.step("wait until ACTIVE")
        b = wait_for("balancer %s ACTIVE" % lb.id, active)
        check(b.name == name, "name %r, expected %r" % (b.name, name))
        check(b.port == 80, "port %r, expected 80" % b.port)

        suite.step("attach member")
        m = drv.balancer_attach_member(b, Member(None, "10.1.0.2", 8080))
        check(m.id and m.ip == "10.1.0.2" and m.port == 8080, "attached member %r" % m)
        b = wait_for("balancer %s ACTIVE after attach" % lb.id, active)

        suite.step("list members")
        members = drv.balancer_list_members(b)
        check(
            sorted((x.ip, x.port) for x in members) == [("10.1.0.1", 80), ("10.1.0.2", 8080)],
            "members %r after attach" % [(x.ip, x.port) for x in members],
        )

        suite.step("detach member")
        ok = drv.balancer_detach_member(b, m)
        check(ok, "balancer_detach_member returned %r" % ok)
        b = wait_for("balancer %s ACTIVE after detach" % lb.id, active)
        members = drv.balancer_list_members(b)
        check(
            [(x.ip, x.port) for x in members] == [("10.1.0.1", 80)],
            "members %r after detach" % [(x.ip, x.port) for x in members],
        )

        suite.step("list balancers")
        check(lb.id in [x.id for x in drv.list_balancers()], "balancer %s not listed" % lb.id)
    finally:
        suite.step("destroy balancer")
        ok = drv.destroy_balancer(lb)
    check(ok, "destroy_balancer returned %r" % ok)

    suite.step("wait for DELETED / 404")

    def deleted():
        try:
            return drv.get_balancer(lb.id).state == LBState.DELETED
        except Exception as e:  # a 404 once gone
            return "404" in str(e) or "not found" in str(e).lower()

    wait_for("balancer %s deleted" % lb.id, deleted)


def refused(make, call):
    drv = make(BAD_PASSWORD)
    suite.step("%s with a bad password (expect InvalidCredsError)" % call)
    try:
        getattr(drv, call)()
    except InvalidCredsError:
        return
    raise AssertionError("a bad password was accepted")


suite.scenario("Rackspace compute lifecycle", compute_lifecycle)
suite.scenario("Rackspace CLB lifecycle", clb_lifecycle)
if STRICT:
    suite.scenario("compute refused with bad credentials", refused, compute, "list_sizes")
    suite.scenario("CLB refused with bad credentials", refused, clb, "list_protocols")
else:
    suite.skip("refused with bad credentials", "Identity is in open user mode")
suite.finish()
