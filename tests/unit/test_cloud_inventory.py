"""The cloud inventory examples put tagged machines into the collection's groups.

EC2 for real against moto's server mode on 127.0.0.1 (instances created here,
with tags); DigitalOcean against a stand-in for its droplets API on 127.0.0.1
(the plugin's `baseurl`), with droplets shaped as the API documents them. No
request leaves this machine: every client points at a loopback endpoint and the
credentials are fake.
"""
import http.server
import json
import os
import pathlib
import re
import socket
import subprocess
import sys
import threading
import time

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "cloud"
BIN = pathlib.Path(sys.executable).parent  # the venv's


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def loopback_env(**extra):
    """The environment of a cloud client that can only reach loopback."""
    env = {key: value for key, value in os.environ.items()
           if not key.upper().startswith(("AWS_", "DO_", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"))}
    env.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost",
               ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".cache" / "collections"),
               ANSIBLE_INVENTORY_UNPARSED_FAILED="true", **extra)
    return env


def inventory(path, env, *args):
    result = subprocess.run([str(BIN / "ansible-inventory"), "-i", str(path), *args],
                            capture_output=True, text=True, check=False, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def plain(value):
    """A --list value without ansible-core's {"__ansible_unsafe": ...} wrappers."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def read_inventory(path, env):
    """`ansible-inventory --graph` as printed, and `--list` as plain data."""
    return inventory(path, env, "--graph"), plain(json.loads(inventory(path, env, "--list")))


def groups_of(listing):
    """{group: sorted host names} from `ansible-inventory --list`."""
    return {name: sorted(group.get("hosts", [])) for name, group in listing.items()
            if name != "_meta" and group.get("hosts")}


# ------------------------------------------------------------------ EC2 (moto)

@pytest.fixture(scope="module")
def moto_ec2():
    port = free_port()
    server = subprocess.Popen([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("moto_server did not start")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_ec2_inventory_groups_instances_by_tag(moto_ec2):
    import boto3  # requirements-dev.txt

    env = loopback_env(AWS_URL=moto_ec2, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    ec2 = boto3.client("ec2", region_name="eu-central-1", endpoint_url=moto_ec2,
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    image = ec2.describe_images()["Images"][0]["ImageId"]

    def launch(name, tags):
        tag_list = [{"Key": "Name", "Value": name}] + [{"Key": k, "Value": v} for k, v in tags.items()]
        reservation = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.small",
                                        TagSpecifications=[{"ResourceType": "instance", "Tags": tag_list}])
        return reservation["Instances"][0]

    launched = {
        "lb1": launch("lb1", {"flaskops-role": "balancer", "flaskops-env": "production"}),
        "app1": launch("app1", {"flaskops-role": "app", "flaskops-env": "production"}),
        "app2": launch("app2", {"flaskops-role": "app", "flaskops-env": "staging"}),
        "db1": launch("db1", {"role": "database"}),  # not ours: left out
    }
    stopped = launch("app3", {"flaskops-role": "app"})
    ec2.stop_instances(InstanceIds=[stopped["InstanceId"]])  # not running: left out

    graph, listing = read_inventory(EXAMPLES / "aws_ec2.yml", env)

    assert groups_of(listing) == {
        "flaskops": ["app1", "app2"],
        "flaskops_balancers": ["lb1"],
        "env_production": ["app1", "lb1"],
        "env_staging": ["app2"],
        "aws_ec2": ["app1", "app2", "lb1"],
    }
    assert "@flaskops:" in graph and "@flaskops_balancers:" in graph and "db1" not in graph

    hostvars = listing["_meta"]["hostvars"]
    for name in ("lb1", "app1", "app2"):
        instance = ec2.describe_instances(InstanceIds=[launched[name]["InstanceId"]])["Reservations"][0]["Instances"][0]
        expected_address = instance.get("PublicIpAddress") or instance["PrivateIpAddress"]
        assert hostvars[name]["ansible_host"] == expected_address
        assert hostvars[name]["private_address"] == instance["PrivateIpAddress"]
        assert hostvars[name]["ansible_user"] == "admin"
        # group_vars/ beside the inventory file: the app, described once.
        assert hostvars[name]["flaskops_app"]["name"] == "shop"
        assert hostvars[name]["ansible_pipelining"] is True


# ------------------------------------------------- DigitalOcean (offline stand-in)

def droplet(number, name, tags, region="fra1"):
    """A droplet as GET /v2/droplets describes it (the fields the example reads)."""
    return {
        "id": 1000 + number, "name": name, "status": "active", "tags": tags,
        "region": {"slug": region, "name": region},
        "size_slug": "s-1vcpu-1gb",
        "networks": {"v4": [
            {"ip_address": f"203.0.113.{number}", "type": "public"},
            {"ip_address": f"10.114.0.{number}", "type": "private"},
        ], "v6": []},
    }


@pytest.fixture()
def droplets_api():
    pages = {
        "1": {"droplets": [droplet(10, "lb1", ["flaskops-balancer"]), droplet(11, "app1", ["flaskops-app", "web"])],
              "links": {"pages": {"next": None}}, "meta": {"total": 4}},
        "2": {"droplets": [droplet(12, "app2", ["flaskops-app"], region="ams3"), droplet(13, "db1", ["database"])],
              "links": {"pages": {}}, "meta": {"total": 4}},
    }
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            seen.append((self.path, self.headers.get("Authorization")))
            page = "2" if re.search(r"[?&]page=2\b", self.path) else "1"
            body = dict(pages[page])
            if page == "1":  # the API links to the next page with an absolute URL
                body["links"] = {"pages": {"next": f"http://127.0.0.1:{port}/v2/droplets?page=2&per_page=2"}}
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/v2", seen
    finally:
        server.shutdown()
        server.server_close()


def test_digitalocean_inventory_groups_droplets_by_tag(droplets_api, tmp_path):
    baseurl, seen = droplets_api
    # The example as shipped, pointed at the stand-in (the plugin reads baseurl
    # from the file only); group_vars/ comes along, as beside the real file.
    config = yaml.safe_load((EXAMPLES / "digitalocean.yml").read_text())
    config["baseurl"] = baseurl
    (tmp_path / "digitalocean.yml").write_text(yaml.safe_dump(config))
    (tmp_path / "group_vars").symlink_to(EXAMPLES / "group_vars")
    env = loopback_env(DO_API_TOKEN="fake-token")

    graph, listing = read_inventory(tmp_path / "digitalocean.yml", env)

    assert groups_of(listing) == {
        "flaskops": ["app1", "app2"],
        "flaskops_balancers": ["lb1"],
        "region_fra1": ["app1", "lb1"],
        "region_ams3": ["app2"],
    }
    assert "db1" not in graph
    hostvars = listing["_meta"]["hostvars"]
    assert hostvars["app2"]["ansible_host"] == "203.0.113.12"
    assert hostvars["app2"]["private_address"] == "10.114.0.12"
    assert hostvars["lb1"]["ansible_user"] == "root"
    assert hostvars["app1"]["flaskops_app"]["domain"] == "shop.example.com"
    # Both pages were read, with the token from the environment.
    # Both pages were read (twice: --graph, then --list), with the token from the environment.
    assert [bool(re.search(r"[?&]page=2\b", path)) for path, _ in seen] == [False, True, False, True]
    assert all(auth == "Bearer fake-token" for _, auth in seen)
