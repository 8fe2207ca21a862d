"""glibc's malloc set for the training loops: their (jobs x samples) temporaries, 0.5 to a few MB each,
come and go at every operation, and are best reused from the heap than mapped, unmapped and faulted in
again each time."""
from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Mapping

# mallopt's parameter numbers (malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
# Below this an allocation comes from the heap, not a fresh mapping: glibc's own threshold starts at
# 128 KB and rises only as mapped blocks are freed, and a pass's 1 MB temporaries were mapped anew,
# page by page, until it had. 32 MB is glibc's most on 64-bit systems.
MMAP_THRESHOLD = 32 << 20
# Free memory at the heap's top is given back past this, not at every pass's end (then taken again).
TRIM_THRESHOLD = 128 << 20


def tune(environ: Mapping[str, str] | None = None) -> bool:
    """Set both thresholds; False, and nothing set, where the C library has no mallopt (musl, macOS)
    or the operator set either with glibc's own MALLOC_*_ variables."""
    given = os.environ if environ is None else environ
    if "MALLOC_MMAP_THRESHOLD_" in given or "MALLOC_TRIM_THRESHOLD_" in given:
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
