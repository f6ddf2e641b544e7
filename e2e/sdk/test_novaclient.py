"""python-novaclient (current) on a keystoneauth1 session against Understudy: v2 password
session, flavors, images through the compute API, the server lifecycle, metadata; and a boot
by image name resolved through the image service, as `nova boot --image NAME` does."""

import warnings

warnings.simplefilter("ignore")

from keystoneauth1 import exceptions as ks_exc  # noqa: E402
from keystoneauth1 import session as ks_session  # noqa: E402
from keystoneauth1.identity import v2 as ks_v2  # noqa: E402
from novaclient import client as nova_client  # noqa: E402
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

suite = Suite("novaclient")
creds = Creds("novaclient", "920001")


def nova(password=None):
    kwargs = {}
    if creds.tenant_id:
        kwargs["tenant_id"] = creds.tenant_id
    auth = ks_v2.Password(
        auth_url=IDENTITY_URL + "/v2.0",
        username=creds.username,
        password=password or creds.password,
        **kwargs,
    )
    sess = ks_session.Session(auth=auth)
    return nova_client.Client("2", session=sess, region_name=REGION)


def authenticate(nc):
    suite.step("authenticate")
    sess = nc.client.session
    check(sess.get_token(), "no token")
    url = sess.get_endpoint(service_type="compute", interface="public", region_name=REGION)
    check(url, "no compute endpoint for %s" % REGION)
    check("/mimic/" not in url, "the compute endpoint is a Mimic control URL: %s" % url)


def compute_images(nc):
    # novaclient >= 15 has no images manager: the compute API's /images is read raw.
    suite.step("list images (compute API GET /images/detail)")
    resp, body = nc.client.get("/images/detail")
    images = body.get("images") or []
    check(images, "GET /images/detail listed no images: %r" % body)
    return images


def smallest_flavor(nc):
    suite.step("list flavors")
    flavors = nc.flavors.list()
    check(flavors, "no flavors")
    return min(flavors, key=lambda f: (f.ram, f.id))


def boot_and_delete(nc, image, flavor, with_metadata):
    suite.step("create server")
    name = unique("nova")
    server = nc.servers.create(name, image, flavor, meta={"created-by": "novaclient"})
    try:
        check(server.id, "servers.create returned no id")
        suite.step("wait for ACTIVE")

        def active():
            s = nc.servers.get(server.id)
            if s.status == "ERROR":
                raise AssertionError("server went to ERROR: %r" % s.to_dict())
            return s if s.status == "ACTIVE" else None

        s = wait_for("server %s ACTIVE" % server.id, active)
        check(s.name == name, "name %r, expected %r" % (s.name, name))
        check(s.metadata.get("created-by") == "novaclient", "create-time metadata %r" % s.metadata)
        image_id = image if isinstance(image, str) else image.id
        check(s.image.get("id") == image_id, "server image %r, expected %s" % (s.image, image_id))
        if with_metadata:
            suite.step("set metadata")
            nc.servers.set_meta(s, {"role": "sdk-test"})
            suite.step("set one metadata item")
            nc.servers.set_meta_item(s, "tier", "web")
            suite.step("read metadata")
            md = nc.servers.get(server.id).metadata
            check(
                md.get("role") == "sdk-test" and md.get("tier") == "web",
                "metadata %r after set_meta and set_meta_item" % md,
            )
            suite.step("delete one metadata item")
            nc.servers.delete_meta(s, ["tier"])
            md = nc.servers.get(server.id).metadata
            check("tier" not in md, "metadata %r still has 'tier' after delete_meta" % md)

            suite.step("list servers (detailed, filtered by name)")
            found = nc.servers.list(search_opts={"name": name})
            check(
                [x.id for x in found] == [server.id],
                "servers.list(name=%s) gave %r" % (name, found),
            )
    finally:
        suite.step("delete server")
        try:
            nc.servers.delete(server)
        except nova_exc.NotFound:
            pass

    suite.step("wait for deletion (404)")

    def gone():
        try:
            nc.servers.get(server.id)
            return False
        except nova_exc.NotFound:
            return True

    wait_for("server %s gone" % server.id, gone)


def lifecycle():
    nc = nova()
    authenticate(nc)
    flavor = smallest_flavor(nc)
    suite.step("get flavor")
    check(nc.flavors.get(flavor.id).name == flavor.name, "flavors.get(%s) disagrees" % flavor.id)
    image_id = compute_images(nc)[0]["id"]
    boot_and_delete(nc, image_id, flavor.id, with_metadata=True)


def boot_via_image_service():
    """What `nova boot --image NAME` does: nova.glance.find_image (GET {image}/v2/images?name=
    and GET {image}/v2/images/{id} on the image service's catalog URL), then boot."""
    nc = nova()
    authenticate(nc)
    flavor = smallest_flavor(nc)
    wanted = compute_images(nc)[0]
    suite.step("find image by name (nova.glance, the image service)")
    image = nc.glance.find_image(wanted["name"])
    check(image.id == wanted["id"], "find_image(%r) gave %s, expected %s" % (wanted["name"], image.id, wanted["id"]))
    suite.step("find image by id (nova.glance, the image service)")
    again = nc.glance.find_image(wanted["id"])
    check(again.name == wanted["name"], "find_image(%s) gave name %r" % (wanted["id"], again.name))
    boot_and_delete(nc, image, flavor, with_metadata=False)


def refused():
    nc = nova(password=BAD_PASSWORD)
    suite.step("list flavors with a bad password (expect 401)")
    try:
        nc.flavors.list()
    except ks_exc.Unauthorized:
        return
    except nova_exc.Unauthorized:
        return
    raise AssertionError("a bad password was accepted")


suite.scenario("v2 password lifecycle", lifecycle)
suite.scenario("boot by image name through the image service (glance proxy)", boot_via_image_service)
if STRICT:
    suite.scenario("refused with bad credentials", refused)
else:
    suite.skip("refused with bad credentials", "Identity is in open user mode")
suite.finish()
