"""Many same-shape jobs as one vectorised pass: run.py drives it, variants.py steps each mechanism."""
from fits.batch_key import batch_key
from fits.batched.run import BUILDERS, CHUNK_BYTES, run_batch

__all__ = ["BUILDERS", "CHUNK_BYTES", "batch_key", "run_batch"]
