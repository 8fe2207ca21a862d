"""deploy/kubernetes/ checked offline: every object valid against Kubernetes' own schemas (kubernetes-validate),
KEDA's objects well formed, secrets only referenced. Nothing here reaches a cluster."""
from pathlib import Path

import pytest
import yaml

kubernetes_validate = pytest.importorskip("kubernetes_validate")

HERE = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"
KUSTOMIZATION = yaml.safe_load((HERE / "kustomization.yaml").read_text())
OBJECTS = [(name, doc) for name in KUSTOMIZATION["resources"]
           for doc in yaml.safe_load_all((HERE / name).read_text()) if doc]
VERSION = "1.30.0"  # a Kubernetes release still in support; kubernetes-validate ships its schemas


def test_kustomization_lists_every_manifest():
    on_disk = {p.name for p in HERE.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(KUSTOMIZATION["resources"]) == on_disk


@pytest.mark.parametrize("name,doc", [o for o in OBJECTS if not o[1]["apiVersion"].startswith("keda.sh/")],
                         ids=lambda v: v if isinstance(v, str) else v["kind"] + "/" + v["metadata"]["name"])
def test_valid_against_the_kubernetes_schema(name, doc):
    kubernetes_validate.validate(doc, VERSION, strict=True)


def test_the_kinds_the_issue_asks_for():
    kinds = {(d["kind"], d["metadata"]["name"]) for _, d in OBJECTS}
    assert {("Deployment", "fitq-api"), ("Service", "fitq-api"), ("Deployment", "fitq-worker"),
            ("Deployment", "fitq-sweeper"), ("Job", "fitq-migrate"), ("ScaledObject", "fitq-worker")} <= kinds
    worker = next(d for _, d in OBJECTS if d["kind"] == "Deployment" and d["metadata"]["name"] == "fitq-worker")
    resources = worker["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert resources["limits"]["nvidia.com/gpu"] == 1 and resources["requests"]["nvidia.com/gpu"] == 1


def test_secrets_by_reference_only():
    assert not [d for _, d in OBJECTS if d["kind"] == "Secret"]
    for _, doc in OBJECTS:
        text = yaml.safe_dump(doc)
        assert "password:" not in text.lower().replace("parameter: password", "")
        for container in doc.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
            assert {"secretRef": {"name": "fitq"}} in container["envFrom"]
            assert not any(e["name"] in ("DATABASE_URL", "REDIS_URL") for e in container.get("env", []))


def test_keda_scales_the_worker_on_the_queues_it_consumes():
    scaled = next(d for _, d in OBJECTS if d["kind"] == "ScaledObject")
    auth = next(d for _, d in OBJECTS if d["kind"] == "TriggerAuthentication")
    assert scaled["apiVersion"] == auth["apiVersion"] == "keda.sh/v1alpha1"
    assert scaled["spec"]["scaleTargetRef"]["name"] == "fitq-worker"
    lists = {t["metadata"]["listName"] for t in scaled["spec"]["triggers"] if t["type"] == "redis"}
    worker = next(d for _, d in OBJECTS if d["kind"] == "Deployment" and d["metadata"]["name"] == "fitq-worker")
    queues = next(e["value"] for e in worker["spec"]["template"]["spec"]["containers"][0]["env"]
                  if e["name"] == "WORKER_QUEUES")
    assert lists == set(queues.split(","))
    assert all(t["authenticationRef"]["name"] == auth["metadata"]["name"] for t in scaled["spec"]["triggers"])
    assert auth["spec"]["secretTargetRef"][0] == {"parameter": "password", "name": "fitq", "key": "REDIS_PASSWORD"}
