"""deploy/: what can be checked without Docker or a Kubernetes cluster. HAProxy checks its own
configuration (`haproxy -c`); the compose file and the Kubernetes manifests are parsed and their
parts checked against each other (names, ports, probes, the Ray address and version, the settings
the app reads). The balancer itself is exercised in tests/test_replicas.py."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from cnnviz.runs import settings_from_env

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


def haproxy_binary() -> str:
    found = shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)
    if found is None:
        if os.environ.get("CNNVIZ_REQUIRE_HAPROXY"):
            pytest.fail("CNNVIZ_REQUIRE_HAPROXY is set but haproxy is missing (apt-get install haproxy)")
        pytest.skip("haproxy is not installed (apt-get install haproxy)")
    return found


def ray_pin() -> str:
    return re.search(r"^ray==(\S+)", (ROOT / "requirements.txt").read_text(), re.M).group(1)


def env_dict(container: dict) -> dict:
    return {item["name"]: item.get("value") for item in container.get("env", [])}


# --- HAProxy ---------------------------------------------------------------------------------------


def test_haproxy_accepts_the_configuration():
    binary = haproxy_binary()
    # As in the compose file (names that only resolve there: HAProxy starts anyway, and finds them later)...
    checked = subprocess.run([binary, "-c", "-f", str(DEPLOY / "haproxy.cfg")], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # ...and on loopback, as the replica tests run it: valid, and not a single warning.
    loopback = {**os.environ, "CNNVIZ_BIND": "127.0.0.1:18080"}
    loopback |= {"CNNVIZ_APP1": "127.0.0.1:18501", "CNNVIZ_APP2": "127.0.0.1:18502"}
    checked = subprocess.run(
        [binary, "-c", "-f", str(DEPLOY / "haproxy.cfg")], capture_output=True, text=True, env=loopback
    )
    assert checked.returncode == 0 and "WARNING" not in checked.stdout + checked.stderr, checked.stderr


def test_haproxy_pins_sessions_and_checks_streamlits_health():
    config = (DEPLOY / "haproxy.cfg").read_text()
    assert re.search(r"^\s+cookie CNNVIZ_REPLICA insert indirect nocache", config, re.M)
    assert re.search(r"^\s+option httpchk GET /_stcore/health$", config, re.M)
    servers = re.findall(r"^\s+server (\w+) \S+ cookie (\w+)$", config, re.M)
    assert servers == [("app1", "app1"), ("app2", "app2")]  # each replica its own cookie value
    assert re.search(r"^\s+timeout tunnel \d+h$", config, re.M)  # websockets outlive the http timeouts


# --- the compose file ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def test_compose_services_fit_together(compose):
    services = compose["services"]
    assert set(services) == {"app1", "app2", "ray-head", "ray-worker", "haproxy", "postgres"}
    # Learners' work: every replica on the one PostgreSQL service and the one data volume.
    for app in ("app1", "app2"):
        environment = services[app]["environment"]
        assert "@postgres:5432/" in environment["CNNVIZ_DATABASE_URL"] and environment["CNNVIZ_DATA"] == "/data"
        assert services[app]["volumes"] == ["cnnviz-data:/data"]
    for name, service in services.items():
        assert "image" in service, name
        for needed in service.get("depends_on", []):
            assert needed in services, f"{name} depends on unknown {needed}"
        if "build" in service:
            assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).exists()
    for mount in services["haproxy"]["volumes"]:
        assert (DEPLOY / mount.split(":")[0]).exists()
    # HAProxy's servers are the app services, on the port they listen on.
    for variable in ("CNNVIZ_APP1", "CNNVIZ_APP2"):
        host, port = services["haproxy"]["environment"][variable].split(":")
        assert host in services and f"--server.port={port}" in services[host]["command"]
    assert (
        services["haproxy"]["ports"] == ["8080:8080"] and services["haproxy"]["environment"]["CNNVIZ_BIND"] == ":8080"
    )


def test_compose_replicas_share_one_ray_cluster_and_one_cookie_secret(compose):
    services = compose["services"]
    head = services["ray-head"]["command"]
    client_port = next(arg.split("=")[1] for arg in head if arg.startswith("--ray-client-server-port="))
    apps = [services["app1"]["environment"], services["app2"]["environment"]]
    assert apps[0] == apps[1]  # the same backend and the same secrets
    assert apps[0]["CNNVIZ_RAY_ADDRESS"] == f"ray://ray-head:{client_port}"
    assert apps[0]["STREAMLIT_SERVER_COOKIE_SECRET"].startswith("${CNNVIZ_COOKIE_SECRET:?")
    for name in ("app1", "app2", "ray-head", "ray-worker"):  # every Ray process shares the token
        assert services[name]["environment"]["RAY_AUTH_MODE"] == "token", name
        assert services[name]["environment"]["RAY_AUTH_TOKEN"].startswith("${CNNVIZ_RAY_TOKEN:?"), name
    assert "--address=ray-head:6379" in services["ray-worker"]["command"] and "--port=6379" in head
    # The app reads these settings as it will in the container.
    settings = settings_from_env(apps[0])
    assert settings["backend"] == "ray" and settings["backend_options"]["address"] == "ray://ray-head:10001"


# --- Kubernetes --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def manifests() -> dict:
    documents = {}
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            assert {"apiVersion", "kind", "metadata", "spec"} <= set(document), path
            documents[document["kind"]] = document
    assert set(documents) == {"Deployment", "Service", "Ingress", "RayCluster"}
    return documents


def test_the_app_deployment_service_and_ingress_fit_together(manifests):
    deployment, service, ingress = manifests["Deployment"], manifests["Service"], manifests["Ingress"]
    pod = deployment["spec"]["template"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    (container,) = pod["spec"]["containers"]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert f"--server.port={ports['http']}" in container["command"]
    assert service["spec"]["ports"][0]["targetPort"] in ports
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/_stcore/health", "port": "http"}
    (rule,) = ingress["spec"]["rules"]
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == service["metadata"]["name"]
    assert backend["port"]["name"] in {port["name"] for port in service["spec"]["ports"]}
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == "150m"


def test_the_app_reaches_the_kuberay_cluster(manifests):
    cluster = manifests["RayCluster"]
    assert cluster["apiVersion"] == "ray.io/v1" and cluster["spec"]["rayVersion"] == ray_pin()
    head = cluster["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]
    client_port = next(port["containerPort"] for port in head["ports"] if port["name"] == "client")
    app = manifests["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    env = env_dict(app)
    # KubeRay names the head's Service <cluster name>-head-svc.
    assert env["CNNVIZ_RAY_ADDRESS"] == f"ray://{cluster['metadata']['name']}-head-svc:{client_port}"
    assert settings_from_env({k: v for k, v in env.items() if v is not None})["backend"] == "ray"
    groups = {group["groupName"]: group for group in cluster["spec"]["workerGroupSpecs"]}
    gpu = groups["gpu"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert gpu["nvidia.com/gpu"] == 1
    for container in [head] + [g["template"]["spec"]["containers"][0] for g in groups.values()] + [app]:
        assert env_dict(container)["RAY_AUTH_MODE"] == "token"  # one token for every Ray process
