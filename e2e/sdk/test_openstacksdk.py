"""openstacksdk + keystoneauth1 against Understudy: Keystone v2 and v3 password auth, the
compute lifecycle through the compute proxy, and a boot by image name through the image
service (the cloud layer's create_server, which resolves the image with Glance)."""

import warnings

warnings.simplefilter("ignore")

import openstack  # noqa: E402
from openstack import exceptions as sdk_exc  # noqa: E402
from keystoneauth1 import exceptions as ks_exc  # noqa: E402

from common import (  # noqa: E402
    BAD_PASSWORD,
    IDENTITY_URL,
    REGION,
    STRICT,
    TIMEOUT,
    Creds,
    Suite,
    check,
    unique,
)

suite = Suite("openstacksdk")
creds = Creds("openstacksdk", "910001")


def connect(version, password=None):
    auth = {
        "auth_url": IDENTITY_URL + ("/v2.0" if version == "2" else "/v3"),
        "username": creds.username,
        "password": password or creds.password,
    }
    if creds.tenant_id:
        auth["project_id"] = creds.tenant_id
    if version == "3":
        auth["user_domain_name"] = "Default"
        if creds.tenant_id:
            auth["project_domain_name"] = "Default"
    return openstack.connect(
        auth_type="v2password" if version == "2" else "v3password",
        auth=auth,
        region_name=REGION,
        identity_api_version=version,
        load_yaml_config=False,
        load_envvars=False,
    )


def authenticate(conn):
    suite.step("authenticate")
    token = conn.auth_token
    check(token, "no token after authentication")
    compute_url = conn.compute.get_endpoint()
    check(compute_url, "no compute endpoint for region %s in the catalog" % REGION)
    check(
        "/mimic/" not in compute_url,
        "the compute endpoint is a Mimic control URL: %s" % compute_url,
    )
    if creds.tenant_id:
        check(
            conn.current_project_id == creds.tenant_id,
            "project %r, expected %r" % (conn.current_project_id, creds.tenant_id),
        )


def server_lifecycle(conn, image_id, flavor_id):
    suite.step("create server")
    name = unique("os")
    server = conn.compute.create_server(name=name, image_id=image_id, flavor_id=flavor_id)
    try:
        check(server.id, "create_server returned no id")
        suite.step("wait for ACTIVE")
        server = conn.compute.wait_for_server(server, status="ACTIVE", interval=0.2, wait=TIMEOUT)
        check(server.status == "ACTIVE", "status %s, expected ACTIVE" % server.status)
        check(server.name == name, "name %r, expected %r" % (server.name, name))

        suite.step("set metadata")
        conn.compute.set_server_metadata(server, role="sdk-test", owner="openstacksdk")
        suite.step("get metadata")
        got = conn.compute.get_server_metadata(server).metadata
        check(
            got.get("role") == "sdk-test" and got.get("owner") == "openstacksdk",
            "metadata %r after setting role and owner" % got,
        )
        suite.step("list servers")
        ids = [s.id for s in conn.compute.servers()]
        check(server.id in ids, "server %s missing from the server list" % server.id)
    finally:
        suite.step("delete server")
        conn.compute.delete_server(server, ignore_missing=True)
    suite.step("wait for deletion")
    conn.compute.wait_for_delete(server, interval=0.2, wait=TIMEOUT)


def lifecycle(version):
    conn = connect(version)
    authenticate(conn)

    suite.step("list flavors")
    flavors = list(conn.compute.flavors(details=True))
    check(flavors, "no flavors")
    flavor = min(flavors, key=lambda f: (f.ram or 0, f.id))

    suite.step("list images (compute API)")
    images = list(conn.compute.images(details=True))
    check(images, "no images")
    image = images[0]
    check(image.id and image.name, "image without id or name: %r" % image)

    server_lifecycle(conn, image.id, flavor.id)


def boot_via_image_service():
    conn = connect("3")
    authenticate(conn)

    suite.step("image service endpoint")
    image_url = conn.image.get_endpoint()
    check(image_url, "no image endpoint for region %s in the catalog" % REGION)

    suite.step("list images (image service)")
    images = list(conn.image.images())
    check(images, "the image service lists no images")
    image = images[0]
    check(image.id and image.name, "image without id or name: %r" % image)
    check(image.status == "active", "image %s status %r, expected 'active'" % (image.id, image.status))

    suite.step("get image by id (image service)")
    again = conn.image.get_image(image.id)
    check(again.name == image.name, "image %s name %r, expected %r" % (image.id, again.name, image.name))

    suite.step("list flavors")
    flavors = list(conn.compute.flavors(details=True))
    check(flavors, "no flavors")
    flavor = min(flavors, key=lambda f: (f.ram or 0, f.id))

    suite.step("create server by image name (cloud layer, wait)")
    name = unique("osimg")
    server = conn.create_server(
        name, image=image.name, flavor=flavor.name, wait=True, timeout=TIMEOUT, auto_ip=False
    )
    try:
        check(server.status == "ACTIVE", "status %s, expected ACTIVE" % server.status)
        img = server.image
        check(
            (img.get("id") if isinstance(img, dict) else getattr(img, "id", None)) == image.id,
            "server image %r, expected %s" % (img, image.id),
        )
        suite.step("set metadata (cloud layer)")
        conn.set_server_metadata(server.id, {"booted": "by-image-name"})
        got = conn.compute.get_server_metadata(server.id).metadata
        check(got.get("booted") == "by-image-name", "metadata %r" % got)
    finally:
        suite.step("delete server (cloud layer, wait)")
        deleted = conn.delete_server(server.id, wait=True, timeout=TIMEOUT)
    check(deleted, "delete_server found no server to delete")


def refused(version):
    conn = connect(version, password=BAD_PASSWORD)
    suite.step("keystoneauth: token with a bad password (expect Unauthorized, 401)")
    try:
        conn.session.get_token()
    except ks_exc.Unauthorized as e:
        check(e.http_status == 401, "status %s, expected 401" % e.http_status)
    else:
        raise AssertionError("keystoneauth got a token with a bad password")

    suite.step("openstacksdk: authorize with a bad password (expect SDKException, HTTP 401)")
    conn = connect(version, password=BAD_PASSWORD)
    try:
        conn.authorize()
    except sdk_exc.SDKException as e:
        check("401" in str(e), "authorize() failed without a 401: %s" % e)
    else:
        raise AssertionError("openstacksdk authorized a bad password")


suite.scenario("v2 password lifecycle", lifecycle, "2")
suite.scenario("v3 password lifecycle", lifecycle, "3")
suite.scenario("v3 boot by image name through the image service", boot_via_image_service)
if STRICT:
    suite.scenario("v2 refused with bad credentials", refused, "2")
    suite.scenario("v3 refused with bad credentials", refused, "3")
else:
    suite.skip("refused with bad credentials", "Identity is in open user mode")
suite.finish()
