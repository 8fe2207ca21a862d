"""One job as the compare view shows it: its fit next to the least-squares optimum on its data."""


def compared(job) -> dict:
    """The job's variant, params, status, loss and its excess over the optimum its worker stored, duration,
    device and fit. Only stored values are read: a job without them (queued, failed, finished before the
    worker stored optima) shows null, so a compare costs the same whatever it names."""
    result = job.result or {}
    loss = job.final_loss  # null until it succeeds, and when the loss was not finite
    best, gap = result.get("optimum_loss"), result.get("excess_loss")
    return {
        "id": job.id,
        "variant": job.variant,
        "params": job.params,
        "status": job.status,
        "final_loss": loss,
        "optimum": {"samples": job.params.get("samples"), "dtype": job.params.get("dtype"), "loss": best,
                    "polynomial": result.get("optimum_polynomial")},
        "excess_loss": gap,
        "relative_excess_loss": result.get("relative_excess_loss"),
        "gap": gap,  # excess_loss's first name, kept for existing clients
        # Below four points the optimum is an exact fit (loss 0): no ratio to it.
        "ratio": None if loss is None or not best or best <= 0 else loss / best,
        "duration_s": job.duration_s,
        "device": job.device,
        "coefficients": result.get("coefficients"),
        "polynomial": result.get("polynomial"),
        "formula": result.get("formula"),
    }
