"""CUDA graphs: when a step is captured and replayed, and that replays train as launching each kernel does."""
import pytest
import torch

from fits import registry
from fits.cuda_graph import CudaGraphStep, replayed

GRAPHED = ["tensor", "autograd", "custom_function", "nn", "optim", "module", "dynamic"]
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


class FakeGraph:
    def __init__(self, replays, key):
        self.replays, self.key = replays, key

    def replay(self):
        self.replays.append(self.key)


class RecordedGraphStep(CudaGraphStep):
    """CudaGraphStep with its two CUDA calls replaced by records, so its bookkeeping runs on a CPU."""

    def __init__(self, step):
        super().__init__(step)
        self.events = []

    def warm_up(self, key):
        self.events.append(("eager", *key))
        return self.step(*key)

    def capture(self, key):
        self.events.append(("capture", *key))
        return FakeGraph(self.events, ("replay", *key)), self.step(*key)


def test_on_the_cpu_a_step_is_left_as_it_is():
    def step():
        return torch.zeros(())

    assert replayed(step, torch.device("cpu")) is step
    assert replayed(step, torch.device("cuda"), enabled=False) is step
    assert isinstance(replayed(step, torch.device("cuda")), CudaGraphStep)


def test_each_key_runs_eagerly_once_then_is_captured_once_and_replayed():
    calls = []
    graphed = RecordedGraphStep(lambda stop: calls.append(stop) or torch.tensor(float(stop)))

    losses = [graphed(stop) for stop in (4, 4, 4, 5, 4, 5, 6, 5)]

    assert graphed.events == [
        ("eager", 4), ("capture", 4), ("replay", 4), ("replay", 4),
        ("eager", 5), ("replay", 4), ("capture", 5), ("replay", 5),
        ("eager", 6), ("replay", 5),
    ]
    assert calls == [4, 4, 5, 5, 6]  # the step's Python runs at each warm-up and capture only
    assert [float(v) for v in losses] == [4, 4, 4, 5, 4, 5, 6, 5]


@needs_cuda
@pytest.mark.parametrize("variant", GRAPHED)
def test_replayed_graphs_log_what_eager_launches_log(variant, params):
    short = params(variant, device="cuda", steps=500, log_every=50)

    graphed = registry.run(variant, short)
    eager = registry.run(variant, {**short, "cuda_graphs": False})

    assert graphed.device == eager.device == "cuda"
    assert [t for t, _ in graphed.loss_history] == [t for t, _ in eager.loss_history]
    assert [v for _, v in graphed.loss_history] == pytest.approx([v for _, v in eager.loss_history], rel=1e-6)
    assert graphed.final_loss == pytest.approx(eager.final_loss, rel=1e-6)
    assert list(graphed.coefficients.values()) == pytest.approx(list(eager.coefficients.values()),
                                                                rel=1e-5, abs=1e-7)


@needs_cuda
def test_final_loss_off_the_history_grid_is_the_last_replayed_step(params):
    result = registry.run("autograd", params("autograd", device="cuda", steps=250, log_every=100))
    longer = registry.run("autograd", params("autograd", device="cuda", steps=250, log_every=1,
                                             cuda_graphs=False))

    assert result.final_loss == pytest.approx(longer.loss_history[-1][1], rel=1e-6)
