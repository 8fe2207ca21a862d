"""A client that openapi-python-client generates from the live OpenAPI document builds every operation's
models and runs submit -> wait (polling) -> read the result against the real API, worker, PostgreSQL and
Redis."""
import importlib
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

GENERATOR = Path(sys.executable).with_name("openapi-python-client")  # in the dev extras
# Its own names (ours, fitq_client, is taken), no formatter run, and the SVG plots read as bytes: the
# generator has no text type for image/svg+xml and would leave their answers out.
CONFIG = {"project_name_override": "fitq-generated", "package_name_override": "fitq_generated",
          "post_hooks": [], "content_type_overrides": {"image/svg+xml": "application/octet-stream"}}
FINISHED = {"succeeded", "failed", "diverged", "cancelled", "pruned"}


@pytest.fixture(scope="module")
def generated(stack, tmp_path_factory):
    """The generated package, imported, from the document the live API serves."""
    if not GENERATOR.exists():
        pytest.skip("openapi-python-client is not installed: pip install -e '.[dev]'")
    tmp = tmp_path_factory.mktemp("generated")
    (tmp / "openapi.json").write_text(stack.client.http.get(f"{stack.client.base}/api/v1/openapi.json").text)
    (tmp / "config.json").write_text(json.dumps(CONFIG))
    done = subprocess.run([str(GENERATOR), "generate", "--path", str(tmp / "openapi.json"), "--output-path",
                           str(tmp / "out"), "--config", str(tmp / "config.json")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    # A schema it cannot read is a warning, and its models or answers are left out: none may be.
    assert "Warning" not in done.stdout and "Unable" not in done.stdout, done.stdout
    sys.path.insert(0, str(tmp / "out"))
    try:
        yield importlib.import_module("fitq_generated")
    finally:
        sys.path.remove(str(tmp / "out"))


def test_every_submission_and_sweep_model_is_generated(generated):
    models = importlib.import_module("fitq_generated.models")
    for variant in ("numpy", "tensor", "autograd", "custom_function", "nn", "optim", "module", "dynamic",
                    "lstsq"):
        camel = "".join(part.title() for part in variant.split("_"))
        for name in (f"Submission{camel}", f"SweepSubmission{camel}", f"Params{camel}"):
            assert hasattr(models, name), name
    assert hasattr(models, "Sweep") and hasattr(models, "Job") and hasattr(models, "Problem")


def test_submit_wait_and_read_the_result_with_the_generated_client(generated, stack):
    models = importlib.import_module("fitq_generated.models")
    api = importlib.import_module("fitq_generated.api.default")
    for name in ("api_submit", "api_show", "results_history", "api_create_sweep", "api_show_sweep"):
        importlib.import_module(f"fitq_generated.api.default.{name}")
    client = generated.Client(base_url=stack.client.base, raise_on_unexpected_status=True)
    body = models.SubmissionTensor(variant="tensor", params=models.ParamsTensor(
        steps=200, samples=200, seed=9, device=models.ParamsTensorDevice.CPU, learning_rate=2e-6))
    job = api.api_submit.sync(client=client, body=body)
    assert isinstance(job, models.Job) and job.status == models.JobStatus.QUEUED
    deadline = time.monotonic() + 120
    while job.status.value not in FINISHED and time.monotonic() < deadline:
        time.sleep(0.2)
        job = api.api_show.sync(job.id, client=client)
    assert job.status == models.JobStatus.SUCCEEDED
    assert job.result.final_loss == stack.client.job(job.id)["result"]["final_loss"]
    assert len(job.result.polynomial) == 4
    history = api.results_history.sync(job.id, client=client)
    assert [p.step for p in history.loss_history] == [p.step for p in job.result.loss_history]

    refused = api.api_submit.sync_detailed(client=generated.Client(base_url=stack.client.base), body=models.
                                           SubmissionTensor(variant="tensor", params=models.ParamsTensor(steps=0)))
    assert refused.status_code == 422 and isinstance(refused.parsed, models.Problem)
    assert refused.parsed.field.startswith("params")

    # The generated Params models fill in the documented defaults, so a swept parameter is UNSET there
    # (else the API answers that it is in both params and grid).
    unset = importlib.import_module("fitq_generated.types").UNSET
    grid = models.SweepSubmissionNnGrid.from_dict({"learning_rate": [1e-6, 2e-6]})
    sweep = api.api_create_sweep.sync(client=client, body=models.SweepSubmissionNn(
        variant="nn", grid=grid, params=models.ParamsNn(steps=100, samples=100, seed=1, learning_rate=unset)))
    assert isinstance(sweep, models.Sweep) and sweep.size == 2
    assert api.api_show_sweep.sync(sweep.id, client=client).id == sweep.id
