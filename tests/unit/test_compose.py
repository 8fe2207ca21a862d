"""docker-compose.yml, .env.example and the Dockerfiles hold what a deployment needs, and no secret."""
import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import fields
from pathlib import Path

import pytest
import yaml

from service.queue import DEFAULT_QUEUE
from service.settings import KNOWN_QUEUES, Settings

REPO = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
SECRETS = ("POSTGRES_PASSWORD", "REDIS_PASSWORD", "FLOWER_BASIC_AUTH")
# A value taken from .env: ${NAME}, ${NAME:-default}, ${NAME:?message}.
REFERENCE = re.compile(r"\$\{[A-Z][A-Z0-9_]*(:?[-?][^}]*)?\}")
# Settings each service sets for itself, and those that do not apply inside a container.
PER_SERVICE = {"HOST", "PORT", "WORKER_QUEUES", "WORKER_POOL", "WORKER_CONCURRENCY"}
NOT_IN_CONTAINERS = {"DATA_DIR", "STOP_TIMEOUT_S", "DATABASE_URL", "REDIS_URL"}


def _compose_env(**values):
    # This environment without anything the compose file reads, so only `values` count.
    names = set(re.findall(r"\$\{([A-Z0-9_]+)", (REPO / "docker-compose.yml").read_text()))
    env = {k: v for k, v in os.environ.items() if k not in names and not k.startswith("COMPOSE_")}
    return env | values


def _config(env_file, env):
    binary = shutil.which("docker-compose")
    if binary is None:
        message = "docker-compose is not installed (Debian: apt-get install docker-compose); .ci/run installs it"
        if os.environ.get("FITQ_REQUIRE_SERVICES"):
            pytest.fail(message)
        pytest.skip(message)
    return subprocess.run([binary, "--file", "docker-compose.yml", "--env-file", str(env_file),
                           "--profile", "cpu", "--profile", "flower", "config", "--quiet"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=60)


def _filled_env_example(tmp_path):
    text = (REPO / ".env.example").read_text()
    for name in SECRETS:
        text = re.sub(rf"^{name}=$", f"{name}=throwaway{name.lower().replace('_', '')}", text, flags=re.M)
    (tmp_path / "env").write_text(text)
    return tmp_path / "env"


def test_compose_file_is_valid_with_the_example_env_and_its_secrets_filled_in(tmp_path):
    done = _config(_filled_env_example(tmp_path), _compose_env())
    assert done.returncode == 0, done.stderr


def test_compose_refuses_to_start_without_the_secrets(tmp_path):
    (tmp_path / "env").write_text((REPO / ".env.example").read_text())
    done = _config(tmp_path / "env", _compose_env())
    assert done.returncode != 0
    assert re.search(r"set (POSTGRES|REDIS)_PASSWORD in \.env", done.stderr), done.stderr


def test_the_services_are_all_there():
    assert set(SERVICES) >= {"redis", "postgres", "migrate", "api", "worker", "cpu-worker", "sweeper", "deliverer",
                             "flower"}
    assert SERVICES["cpu-worker"]["profiles"] == ["cpu"]
    assert SERVICES["flower"]["profiles"] == ["flower"]
    commands = {name: SERVICES[name]["command"]
                for name in ("migrate", "api", "worker", "cpu-worker", "sweeper", "deliverer")}
    assert commands == {"migrate": "fitq migrate", "api": "fitq api", "worker": "fitq worker",
                        "cpu-worker": "fitq worker", "sweeper": "fitq sweeper", "deliverer": "fitq deliver"}


@pytest.mark.parametrize("name", ["redis", "postgres", "api", "worker", "cpu-worker", "sweeper", "deliverer"])
def test_long_running_services_have_a_healthcheck(name):
    check = SERVICES[name]["healthcheck"]
    assert check["test"][0] in ("CMD", "CMD-SHELL") and not check.get("disable")
    assert SERVICES[name]["restart"] == "unless-stopped"


def test_api_starts_after_a_healthy_database_and_completed_migrations():
    assert SERVICES["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert SERVICES["migrate"]["restart"] == "no"
    for name in ("api", "worker", "cpu-worker", "sweeper", "deliverer"):
        assert SERVICES[name]["depends_on"] == {
            "postgres": {"condition": "service_healthy"}, "redis": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"}}, name


def test_the_gpu_worker_reserves_gpus_and_takes_one_per_replica():
    worker = SERVICES["worker"]
    assert worker["deploy"]["resources"]["reservations"]["devices"] == [
        {"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}]
    assert worker["entrypoint"] == ["fitq-gpu-slot"]
    slots = (REPO / "docker" / "gpu-slot").read_text()
    assert "gpu-slots:/run/fitq-gpus" in worker["volumes"] and "FITQ_GPU_SLOTS:-/run/fitq-gpus" in slots
    assert "gpu-slots" in COMPOSE["volumes"]


def test_workers_scale_with_a_cuda_safe_pool_on_their_queues():
    for name, queues in (("worker", {"gpu", DEFAULT_QUEUE}), ("cpu-worker", {"cpu", DEFAULT_QUEUE})):
        service = SERVICES[name]
        # `--scale` needs replicas that can share a host: no fixed name, no host port.
        assert "container_name" not in service and "ports" not in service and "hostname" not in service
        env = service["environment"]
        assert set(env["WORKER_QUEUES"].split(",")) == queues and queues <= set(KNOWN_QUEUES)
        assert (env["WORKER_POOL"], env["WORKER_CONCURRENCY"]) == ("solo", "1")
        assert service["stop_grace_period"]


def test_redis_keeps_an_everysec_aof_never_evicts_and_wants_a_password():
    command = SERVICES["redis"]["command"]
    options = dict(zip(command[1::2], command[2::2]))
    assert options["--appendonly"] == "yes" and options["--appendfsync"] == "everysec"
    assert options["--maxmemory-policy"] == "noeviction"
    assert REFERENCE.fullmatch(options["--requirepass"]) and "REDIS_PASSWORD" in options["--requirepass"]


def test_redis_and_postgres_keep_their_data_in_named_volumes():
    assert "redis-data:/data" in SERVICES["redis"]["volumes"]
    assert "postgres-data:/var/lib/postgresql/data" in SERVICES["postgres"]["volumes"]
    assert {"redis-data", "postgres-data"} <= set(COMPOSE["volumes"])


def _strings(node, key=""):
    # Every (key, string) pair in the parsed file, list items under their list's key.
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _strings(v, str(k))
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v, key)
    elif isinstance(node, str):
        yield key, node


def test_no_secret_is_written_in_the_compose_file():
    pairs = list(_strings(COMPOSE))
    for key, value in pairs:
        if re.search(r"PASSWORD|SECRET|TOKEN|BASIC_AUTH|REDISCLI_AUTH", key):
            assert REFERENCE.fullmatch(value), f"{key}: {value!r} is not a ${{...}} reference"
        for password in re.findall(r"://[^:/@\s]*:([^@\s]*)@", value):
            assert REFERENCE.fullmatch(password), f"{key}: a URL holds the password {password!r}"
    command = SERVICES["redis"]["command"]
    assert REFERENCE.fullmatch(command[command.index("--requirepass") + 1])


def test_env_example_names_every_secret_and_holds_none():
    example = dict(line.split("=", 1) for line in (REPO / ".env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
    required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", (REPO / "docker-compose.yml").read_text()))
    assert required == set(SECRETS)
    assert all(example[name] == "" for name in SECRETS)
    assert ".env" in (REPO / ".gitignore").read_text().splitlines()


def test_every_setting_reaches_the_containers():
    shared = SERVICES["api"]["environment"]
    for f in fields(Settings):
        name = f.name.upper()
        if name in PER_SERVICE | NOT_IN_CONTAINERS:
            continue
        assert shared.get(name) == f"${{{name}:-}}", (
            f"{name} cannot be set in a compose deployment: add `{name}: ${{{name}:-}}` to x-fitq-env "
            "in docker-compose.yml")
    for name in ("migrate", "worker", "cpu-worker", "sweeper", "deliverer"):
        assert {k: v for k, v in SERVICES[name]["environment"].items() if k not in PER_SERVICE} == \
            {k: v for k, v in shared.items() if k not in PER_SERVICE}, name


def test_images_run_as_a_user_with_a_healthcheck_from_the_same_pyproject():
    for name in ("Dockerfile.api", "Dockerfile.worker"):
        text = (REPO / name).read_text()
        user = re.findall(r"^USER (\S+)", text, re.M)
        assert user and user[-1].split(":")[0] not in ("root", "0"), name
        assert re.search(r"^HEALTHCHECK .*CMD \[\"fitq-healthcheck\"", text, re.M), name
        assert "requirements.py /tmp/fitq/pyproject.toml" in text, name
    api, worker = (REPO / "Dockerfile.api").read_text(), (REPO / "Dockerfile.worker").read_text()
    assert "requirements.py /tmp/fitq/pyproject.toml search >" in api  # the sweeper's Optuna; no torch
    assert re.search(r"ARG TORCH_INDEX=https://download\.pytorch\.org/whl/cu\d+", worker)


def _requirements(*extras):
    # As the Dockerfiles run it (a script: `docker` may also be the name of an installed package).
    done = subprocess.run([sys.executable, "docker/requirements.py", "pyproject.toml", *extras], cwd=REPO,
                          capture_output=True, text=True, check=True)
    return done.stdout.split()


def test_the_api_image_installs_no_torch_and_the_worker_image_the_pinned_one():
    # The API image also runs the sweeper, whose searches need Optuna (and numpy under it); the API
    # process itself never imports numpy (import-linter), and torch is in no extra it installs.
    api, worker = _requirements("search"), _requirements("worker")
    assert not [r for r in api if re.match(r"torch\b", r)] and [r for r in api if r.startswith("optuna")]
    assert [r for r in worker if r.startswith("torch")] == ["torch==2.13.0"]


def test_builds_see_no_secret_and_no_local_state():
    rules = [r for r in (REPO / ".dockerignore").read_text().splitlines() if r and not r.startswith("#")]
    assert rules[0] == "*"
    assert not [r for r in rules if r.startswith("!") and re.match(r"!\.?(env|git|venv|data)", r)]


def test_every_package_fitq_installs_is_sent_to_the_image_builds():
    # `fitq` in an image imports the client package too: a package left out of the build context would
    # install without it and fail at start.
    include = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    sent = {r[1:].rstrip("/") for r in (REPO / ".dockerignore").read_text().splitlines() if r.startswith("!")}
    assert {p.rstrip("*") for p in include["include"]} <= sent
