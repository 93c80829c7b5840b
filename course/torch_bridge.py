"""PyTorch as an oracle and as a lab bench: device, dtype, round trips and tolerance in one place.

The same code runs on a laptop and on a GPU machine: `oracle()` picks CUDA when it is present and
the CPU otherwise, computes in float64 on both (exact enough to grade against), and turns TF32
off on CUDA, because TF32 silently rounds float32 matmuls to a 10-bit mantissa. Set the
environment variables TDN_DEVICE ('cpu' or 'cuda') or TDN_ORACLE_DTYPE ('float64' or 'float32')
to choose explicitly; the matching tolerance comes from `course.tolerance`.

Importing this module (or any course module built on it) caps torch's intra-op threads as
`course.threads` describes (TDN_THREADS; one thread by default).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch

from course.threads import cap_torch_threads
from course.tolerance import Tolerance, tolerance_for

cap_torch_threads()


def pick_device(prefer: str | None = None) -> torch.device:
    """The device to compute on: `prefer`, else $TDN_DEVICE, else CUDA when available, else CPU."""
    name = prefer or os.environ.get("TDN_DEVICE")
    if name is None:
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(f"device {name!r} was requested but CUDA is not available")
        disable_tf32()
    return device


def disable_tf32() -> None:
    """Make float32 matmuls and convolutions on CUDA use full float32 precision."""
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")


@dataclass(frozen=True)
class Oracle:
    """Where and in what precision PyTorch computes a reference, and how close is close."""

    device: torch.device
    dtype: torch.dtype

    @property
    def tolerance(self) -> Tolerance:
        return tolerance_for(self.dtype, self.device.type)

    def tensor(self, array, requires_grad: bool = False) -> torch.Tensor:
        """A copy of `array` on the oracle's device; floats take the oracle's dtype."""
        return to_tensor(array, self.device, self.dtype, requires_grad)


def oracle(device: str | None = None, dtype: str | None = None) -> Oracle:
    """The oracle for this machine (see the module docstring for the choices and overrides)."""
    dev = pick_device(device)
    dtype_name = dtype or os.environ.get("TDN_ORACLE_DTYPE", "float64")
    if dtype_name not in ("float64", "float32"):
        raise ValueError(f"oracle dtype must be 'float64' or 'float32', got {dtype_name!r}")
    return Oracle(dev, getattr(torch, dtype_name))


def to_tensor(
    array,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float64,
    requires_grad: bool = False,
) -> torch.Tensor:
    """Copy a NumPy array (or scalar) to a tensor. Integer arrays (labels) keep an integer dtype."""
    a = np.asarray(array)
    if np.issubdtype(a.dtype, np.integer) or a.dtype == np.bool_:
        return torch.as_tensor(a.copy(), device=device)
    t = torch.tensor(a, dtype=dtype, device=device)
    return t.requires_grad_(requires_grad)


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    """Copy a tensor (any device, with or without grad) to a float64 NumPy array (ints stay ints)."""
    t = tensor.detach().cpu()
    if t.is_floating_point():
        t = t.to(torch.float64)
    return t.numpy().copy()
