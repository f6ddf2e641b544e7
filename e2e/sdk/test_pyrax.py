"""pyrax 1.10 (Rackspace identity, python-novaclient 2.27 underneath) against Understudy:
authentication at IDENTITY_URL/v2.0, cloudservers (flavors, images, a server to ACTIVE,
metadata, delete), cloud_loadbalancers (create, add and remove nodes, delete), and the
image service client (pyrax.images, Glance v2)."""

import warnings

warnings.simplefilter("ignore")

import pyrax  # noqa: E402
import pyrax.exceptions as pyrax_exc  # noqa: E402
from novaclient import exceptions as nova_exc  # noqa: E402

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

suite = Suite("pyrax")
# pyrax's Rackspace identity sends no tenant (RAX-KSKEY apiKeyCredentials carry none): in
# open mode the tenant is the one Identity derives from the username.
creds = Creds("pyrax", None)


def login(password=None):
    """pyrax's module-level session: Rackspace identity (RAX-KSKEY API key first, then
    password, as pyrax does), region ORD, every client connected."""
    pyrax.clear_credentials()
    pyrax.set_setting("identity_type", "rackspace")
    pyrax.set_setting("auth_endpoint", IDENTITY_URL + "/v2.0/")
    pyrax.set_setting("region", REGION)
    pyrax.set_setting("verify_ssl", False)
    if creds.tenant_id:
        pyrax.set_setting("tenant_id", creds.tenant_id)
    suite.step("authenticate (pyrax.set_credentials)")
    if password is not None:
        pyrax.set_credentials(creds.username, password=password, region=REGION)
    elif creds.api_key:
        pyrax.set_credentials(creds.username, api_key=creds.api_key, region=REGION)
    else:
        pyrax.set_credentials(creds.username, password=creds.password, region=REGION)
    check(pyrax.identity.authenticated, "pyrax.identity is not authenticated")
    check(pyrax.identity.token, "no token")
    if creds.tenant_id:
        check(
            pyrax.identity.tenant_id == creds.tenant_id,
            "tenant %r, expected %r" % (pyrax.identity.tenant_id, creds.tenant_id),
        )


def endpoint(svc):
    return pyrax._get_service_endpoint(pyrax.identity, svc, REGION)


def cloudservers_lifecycle():
    login()
    suite.step("compute client (pyrax.cloudservers)")
    cs = pyrax.cloudservers
    check(cs is not None, "pyrax.cloudservers is None: no compute endpoint in %s" % REGION)
    url = cs.client.management_url
    check("/mimic/" not in url, "pyrax.cloudservers uses a Mimic control URL: %s" % url)

    suite.step("list flavors")
    flavors = cs.list_flavors()
    check(flavors, "no flavors")
    flavor = min(flavors, key=lambda f: (f.ram, f.id))
    suite.step("list images")
    images = cs.list_images()
    check(images, "no images")
    image = images[0]
    suite.step("find images by name")
    check(
        image.id in [i.id for i in cs.find_images_by_name(image.name.split(" ")[0])],
        "find_images_by_name(%r) misses %s" % (image.name.split(" ")[0], image.id),
    )

    suite.step("create server")
    name = unique("px")
    server = cs.servers.create(name, image.id, flavor.id, meta={"created-by": "pyrax"})
    try:
        check(server.id, "servers.create returned no id")
        check(getattr(server, "adminPass", None), "no adminPass in the create response")
        suite.step("wait for ACTIVE (pyrax.utils.wait_for_build)")
        s = pyrax.utils.wait_for_build(server, interval=0.2, attempts=300)
        check(s.status == "ACTIVE", "status %s, expected ACTIVE" % s.status)
        check(s.name == name, "name %r, expected %r" % (s.name, name))

        suite.step("set metadata")
        cs.servers.set_meta(s, {"role": "sdk-test"})
        suite.step("read metadata")
        md = cs.servers.get(server.id).metadata
        check(
            md.get("role") == "sdk-test" and md.get("created-by") == "pyrax",
            "metadata %r after set_meta" % md,
        )
        suite.step("list servers")
        check(server.id in [x.id for x in cs.list()], "server %s not listed" % server.id)
    finally:
        suite.step("delete server")
        try:
            cs.servers.delete(server.id)
        except nova_exc.NotFound:
            pass

    suite.step("wait for deletion (404)")

    def gone():
        try:
            cs.servers.get(server.id)
            return False
        except nova_exc.NotFound:
            return True

    wait_for("server %s gone" % server.id, gone)


def clb_lifecycle():
    login()
    suite.step("load balancer client (pyrax.cloud_loadbalancers)")
    clb = pyrax.cloud_loadbalancers
    check(clb is not None, "pyrax.cloud_loadbalancers is None: no rax:load-balancer endpoint")
    url = clb.management_url
    check("/mimic/" not in url, "pyrax.cloud_loadbalancers uses a Mimic control URL: %s" % url)

    suite.step("list algorithms and protocols")
    check("ROUND_ROBIN" in clb.algorithms, "algorithms %r" % clb.algorithms)
    check("HTTP" in clb.protocols, "protocols %r" % clb.protocols)

    suite.step("create balancer")
    name = unique("pxlb")
    node1 = clb.Node(address="10.2.0.1", port=80, condition="ENABLED")
    vip = clb.VirtualIP(type="PUBLIC")
    lb = clb.create(name, port=80, protocol="HTTP", nodes=[node1], virtual_ips=[vip],
                    algorithm="ROUND_ROBIN")
    try:
        check(lb.id, "create returned no id")
        suite.step("wait for ACTIVE")
        lb = pyrax.utils.wait_until(lb, "status", "ACTIVE", interval=0.2, attempts=300)
        check(lb.status == "ACTIVE", "status %s, expected ACTIVE" % lb.status)
        check(lb.name == name, "name %r, expected %r" % (lb.name, name))
        check(len(lb.virtual_ips) == 1, "virtual IPs %r" % lb.virtual_ips)

        suite.step("add node")
        node2 = clb.Node(address="10.2.0.2", port=8080, condition="ENABLED")
        lb.add_nodes([node2])
        lb = pyrax.utils.wait_until(lb, "status", "ACTIVE", interval=0.2, attempts=300)
        addrs = sorted((n.address, n.port) for n in lb.nodes)
        check(addrs == [("10.2.0.1", 80), ("10.2.0.2", 8080)], "nodes %r after add_nodes" % addrs)

        suite.step("remove node")
        added = [n for n in lb.nodes if n.address == "10.2.0.2"][0]
        check(added.id, "the added node has no id: %r" % added)
        added.delete()
        lb = pyrax.utils.wait_until(lb, "status", "ACTIVE", interval=0.2, attempts=300)
        addrs = [(n.address, n.port) for n in lb.nodes]
        check(addrs == [("10.2.0.1", 80)], "nodes %r after node.delete()" % addrs)

        suite.step("list balancers")
        check(lb.id in [x.id for x in clb.list()], "balancer %s not listed" % lb.id)
    finally:
        suite.step("delete balancer")
        lb.delete()

    suite.step("wait for DELETED / 404")

    def deleted():
        try:
            return clb.get(lb.id).status == "DELETED"
        except pyrax_exc.NotFound:
            return True

    wait_for("balancer %s deleted" % lb.id, deleted)


def images_via_image_service():
    login()
    suite.step("image service client (pyrax.images)")
    imgs = pyrax.images
    check(imgs is not None, "pyrax.images is None: no 'image' endpoint in %s" % REGION)
    suite.step("list images (pyrax.images)")
    images = imgs.list()
    check(images, "the image service lists no images")
    suite.step("get image (pyrax.images)")
    got = imgs.get(images[0].id)
    check(got.name == images[0].name, "get(%s).name %r" % (images[0].id, got.name))


def refused():
    try:
        login(password=BAD_PASSWORD)
    except pyrax_exc.AuthenticationFailed:
        return
    raise AssertionError("a bad password was accepted")


GOOD = [
    ("cloudservers lifecycle", cloudservers_lifecycle),
    ("cloud_loadbalancers lifecycle", clb_lifecycle),
    ("images through the image service (pyrax.images)", images_via_image_service),
]
if STRICT and not (creds.api_key or creds.tenant_id):
    # pyrax's password-style body is {"passwordCredentials": {"username": tenant_name or
    # username, ...}, "tenantId": tenant_id or username} (base_identity._format_credentials):
    # without a tenant it sends the username as tenantId, which Identity rightly refuses.
    for name, _ in GOOD:
        suite.skip(name, "strict mode needs the user's API_KEY or TENANT_ID for pyrax")
else:
    for name, fn in GOOD:
        suite.scenario(name, fn)
if STRICT:
    suite.scenario("refused with bad credentials", refused)
else:
    suite.skip("refused with bad credentials", "Identity is in open user mode")
suite.finish()
