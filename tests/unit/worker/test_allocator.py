"""The worker's malloc thresholds: set through glibc's mallopt, unless the operator set glibc's own."""
import ctypes.util

import pytest

from worker import allocator


@pytest.mark.skipif(ctypes.util.find_library("c") is None, reason="no C library to ask")
def test_glibc_takes_both_thresholds():
    # mallopt refuses a value out of its range (0 back): both must be within glibc's limits.
    assert allocator.tune({}) is True


@pytest.mark.parametrize("name", ["MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"])
def test_an_operators_own_setting_is_left_alone(name):
    assert allocator.tune({name: "131072"}) is False
