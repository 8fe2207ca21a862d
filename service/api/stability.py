"""What the API tells a submitter before a job runs: the learning rate above which gradient descent on the
job's points diverges (fits/stability.py, pure Python: no torch or numpy in this process)."""
from fits import catalog, stability

UNSTABLE = "unstable_learning_rate"
# For dynamic the limit is necessary, not sufficient: see docs/results.md ("Stability limits").
CAVEAT = {"dynamic": "; for dynamic this is the bound for any one fixed draw: its random draws (and "
                     "momentum kept on e when x^4 is not drawn) diverge from about a quarter of it"}


def limit(variant, params):
    """The largest stable learning rate of a job of `variant` with resolved `params`; None if not known."""
    if "learning_rate" not in params:
        return None
    return stability.learning_rate_limit(variant, params["samples"], params["dtype"])


def variants():
    """The catalogue, each variant with its learning_rate_limit at its default shape (null if not known)."""
    return [{**v, "learning_rate_limit": limit(v["name"], v["defaults"])} for v in catalog.listing()]


def job_warnings(variant, params):
    """[] or one unstable_learning_rate warning for a job of `variant` with resolved `params`."""
    bound = limit(variant, params)
    if bound is None or params["learning_rate"] <= bound:
        return []
    return [{"code": UNSTABLE, "limit": bound,
             "detail": f"learning_rate {params['learning_rate']:g} is above {bound:.6g}, the largest stable "
                       f"learning rate of {variant} on {params['samples']} {params['dtype']} points "
                       f"(2/λmax of the loss's Hessian{' with momentum' if variant in stability.MOMENTUM else ''}"
                       f"); expect it to end diverged{CAVEAT.get(variant, '')}"}]


def sweep_warnings(variant, points):
    """One warning for a sweep whose points (resolved params) include any above their limit: how many, and
    the lowest limit among them."""
    over = [(w[0]["limit"], p) for p in points for w in [job_warnings(variant, p)] if w]
    if not over:
        return []
    bound, first = min(over, key=lambda o: o[0])
    return [{"code": UNSTABLE, "limit": bound, "points": len(over),
             "detail": f"{len(over)} of the sweep's {len(points)} points have a learning_rate above the "
                       f"largest stable one ({bound:.6g} on {first['samples']} {first['dtype']} points for "
                       f"{variant}); expect them to end diverged{CAVEAT.get(variant, '')}"}]
