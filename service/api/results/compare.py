"""One job as the compare view shows it: its fit next to the least-squares optimum on its data."""
from service.api.results.optimum import optimum


def compared(job) -> dict:
    """The job's variant, params, status, loss and its gap to the optimum, duration, device and fit."""
    result = job.result or {}
    best = optimum(job.params["samples"])
    loss = job.final_loss  # null until it succeeds, and when the loss was not finite
    return {
        "id": job.id,
        "variant": job.variant,
        "params": job.params,
        "status": job.status,
        "final_loss": loss,
        "optimum": {"samples": best.samples, "loss": best.loss,
                    "polynomial": None if best.polynomial is None else list(best.polynomial)},
        "gap": None if loss is None else loss - best.loss,
        # Below four points the optimum is an exact fit (loss 0): no ratio to it.
        "ratio": None if loss is None or best.loss <= 0 else loss / best.loss,
        "duration_s": job.duration_s,
        "device": job.device,
        "coefficients": result.get("coefficients"),
        "polynomial": result.get("polynomial"),
        "formula": result.get("formula"),
    }
