"""What a finished job of each variant must show, checked the same way on every stack."""
import math

import numpy as np
import torch

CUBIC = ("numpy", "tensor", "autograd", "custom_function", "nn", "optim", "module")
ALL = CUBIC + ("dynamic", "lstsq")
# The seed the loss thresholds below are held to: a fresh one each run would make every threshold a draw.
SEED = 0
# The seed notebook's printed losses for LegendrePolynomial3 (custom_function), steps 99..1999.
SEED_LEGENDRE = [209.95834350585938, 144.66018676757812, 100.70249938964844, 71.03520202636719,
                 50.978511810302734, 37.40313720703125, 28.20686912536621, 21.973186492919922,
                 17.745729446411133, 14.877889633178711, 12.931766510009766, 11.610918998718262,
                 10.714248657226562, 10.105475425720215, 9.692106246948242, 9.411375045776367,
                 9.220745086669922, 9.091285705566406, 9.003361701965332, 8.94364070892334]


def optimum(samples=2000) -> float:
    """The least-squares cubic's loss on the default data, computed independently in float64."""
    x = np.linspace(-math.pi, math.pi, samples)
    design = np.stack([x**0, x, x**2, x**3], axis=1)
    coef, *_ = np.linalg.lstsq(design, np.sin(x), rcond=None)
    return float(np.sum((design @ coef - np.sin(x)) ** 2))


def check_succeeded(job: dict) -> None:
    """A default-parameter job of any variant finished with a result a user can trust."""
    assert job["params"]["seed"] == SEED, "the thresholds below hold for SEED"
    assert job["status"] == "succeeded", job
    assert job["attempts"] == 1 and job["error"] is None
    assert job["started_at"] and job["finished_at"] and job["worker"]
    result, params, variant = job["result"], job["params"], job["variant"]
    assert job["device"] == ("cuda" if torch.cuda.is_available() and variant != "numpy" else "cpu")
    assert job["progress"] == {"step": params.get("steps", 1), "steps": params.get("steps", 1)}
    best = optimum(params["samples"])
    if variant == "lstsq":
        assert abs(result["final_loss"] - best) / best < 1e-3
        assert len(result["polynomial"]) == 4
        return
    history = result["loss_history"]
    every, steps = params["log_every"], params["steps"]
    assert [p["step"] for p in history] == list(range(every - 1, steps, every))
    assert all(math.isfinite(p["loss"]) for p in history)
    assert result["final_loss"] == history[-1]["loss"]
    names = [f"b_{i}" for i in range(5 if variant == "dynamic" else 4)]
    assert list(result["coefficients"]) == names
    assert len(result["polynomial"]) == (6 if variant == "dynamic" else 4)
    if variant in CUBIC:
        # At SEED every cubic ends within 1.4x the optimum on CPU (tensor, autograd, module 1.39x; optim
        # 1.01x). Other seeds can leave RMSprop far from it at step 2000 (3224417804: 39.2, 4.5x).
        assert result["final_loss"] < 3 * best
        # The power-basis polynomial reproduces the stored loss: it is the fit, not decoration.
        x = np.linspace(-math.pi, math.pi, params["samples"])
        loss = float(np.sum((np.polynomial.polynomial.polyval(x, result["polynomial"]) - np.sin(x)) ** 2))
        # The last update (after the last logged loss) moves it by 0.12% at most at SEED; RMSprop's
        # normalised step can move it by 25% at other seeds (1075857250: 9.11 before it, 11.59 after).
        assert abs(loss - result["final_loss"]) / result["final_loss"] < 0.05
    if variant == "custom_function":
        for got, want in zip([p["loss"] for p in history], SEED_LEGENDRE):
            assert abs(got - want) / want < 1e-5
