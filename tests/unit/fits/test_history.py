"""Which steps are logged, what on_progress sees, and that it can stop a fit."""
import pytest

from fits import registry

LOOPS = ["numpy", "tensor", "autograd", "custom_function", "nn", "optim", "module"]


class Stop(Exception):
    pass


@pytest.mark.parametrize("variant", LOOPS)
def test_defaults_log_every_hundredth_step_and_report_it(variant, params):
    calls = []

    result = registry.run(variant, params(variant), on_progress=lambda *a: calls.append(a))

    assert [step for step, _ in result.loss_history] == list(range(99, 2000, 100))
    assert calls == [(t + 1, 2000, loss) for t, loss in result.loss_history]
    assert result.final_loss == result.loss_history[-1][1]
    assert result.duration_s > 0 and result.device == "cpu"


def test_dynamic_defaults_log_every_two_thousandth_step(dynamic_run):
    result, calls = dynamic_run

    assert [step for step, _ in result.loss_history] == list(range(1999, 30000, 2000))
    assert calls == [(t + 1, 30000, loss) for t, loss in result.loss_history]


def test_final_loss_is_the_last_step_even_off_the_history_grid(params):
    result = registry.run("autograd", params("autograd", steps=250, log_every=100))
    longer = registry.run("autograd", params("autograd", steps=250, log_every=1))

    assert [step for step, _ in result.loss_history] == [99, 199]
    assert result.final_loss == longer.loss_history[-1][1]


@pytest.mark.parametrize("variant", LOOPS + ["dynamic"])
def test_an_exception_from_on_progress_stops_the_fit(variant, params):
    calls = []

    def on_progress(step, steps, loss):
        calls.append(step)
        if step == 300:
            raise Stop

    with pytest.raises(Stop):
        registry.run(variant, params(variant, steps=2000, log_every=100), on_progress=on_progress)
    assert calls == [100, 200, 300]
