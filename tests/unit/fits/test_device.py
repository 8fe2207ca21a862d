"""Impossible device and dtype requests are refused clearly; 'auto' runs somewhere real."""
import pytest
import torch

from fits import registry


def test_numpy_refuses_cuda(params):
    with pytest.raises(ValueError, match="CPU only"):
        registry.run("numpy", params("numpy", device="cuda"))


def test_numpy_honours_float32(params):
    result = registry.run("numpy", params("numpy", dtype="float32", steps=100))

    assert 0 < result.final_loss < float("inf")


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
@pytest.mark.parametrize("variant", ["tensor", "lstsq"])
def test_cuda_without_cuda_is_refused(variant, params):
    with pytest.raises(ValueError, match="CUDA is not available"):
        registry.run(variant, params(variant, device="cuda"))


@pytest.mark.parametrize("dtype", ["float16", "int32"])
def test_unsupported_dtype_is_refused(dtype, params):
    with pytest.raises(ValueError, match="unknown dtype"):
        registry.run("autograd", params("autograd", dtype=dtype))


def test_auto_reports_the_device_it_used(params):
    result = registry.run("autograd", params("autograd", steps=10, log_every=10))

    assert result.device == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.parametrize("variant", ["tensor", "nn", "module"])
def test_dtype_is_honoured(variant, params):
    short = params(variant, steps=100, log_every=100)

    float64 = registry.run(variant, {**short, "dtype": "float64"})
    float32 = registry.run(variant, {**short, "dtype": "float32"})

    # Same init, but float32 rounds the sums: the losses agree closely without being identical.
    assert float64.final_loss != float32.final_loss
    assert float64.final_loss == pytest.approx(float32.final_loss, rel=1e-4)
