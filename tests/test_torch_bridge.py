import numpy as np
import pytest
import torch

from course import torch_bridge
from course.tolerance import tolerance_for


def test_oracle_on_this_machine_is_float64_with_the_float64_tolerance(monkeypatch):
    monkeypatch.delenv("TDN_DEVICE", raising=False)
    monkeypatch.delenv("TDN_ORACLE_DTYPE", raising=False)
    o = torch_bridge.oracle()
    expected_device = "cuda" if torch.cuda.is_available() else "cpu"
    assert o.device.type == expected_device
    assert o.dtype == torch.float64
    assert o.tolerance == tolerance_for("float64")


def test_environment_selects_float32_and_its_looser_tolerance(monkeypatch):
    monkeypatch.setenv("TDN_ORACLE_DTYPE", "float32")
    o = torch_bridge.oracle()
    assert o.dtype == torch.float32
    assert o.tolerance.rtol > tolerance_for("float64").rtol
    assert o.tensor(np.ones(3)).dtype == torch.float32


def test_requesting_cuda_without_it_is_a_clear_error(monkeypatch):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        torch_bridge.pick_device("cuda")


def test_round_trip_keeps_values_shapes_and_integer_labels():
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    t = torch_bridge.to_tensor(x, requires_grad=True)
    assert t.requires_grad and t.dtype == torch.float64
    back = torch_bridge.to_numpy(t * 1)
    assert back.dtype == np.float64 and np.array_equal(back, x)
    labels = torch_bridge.to_tensor(np.array([0, 2, 1]))
    assert labels.dtype == torch.int64


def test_tensor_is_a_copy_not_a_view():
    x = np.zeros(3)
    t = torch_bridge.to_tensor(x)
    t += 1
    assert np.array_equal(x, np.zeros(3))


def test_disable_tf32_turns_off_reduced_precision_matmuls():
    torch_bridge.disable_tf32()
    assert torch.backends.cuda.matmul.allow_tf32 is False
    assert torch.backends.cudnn.allow_tf32 is False
