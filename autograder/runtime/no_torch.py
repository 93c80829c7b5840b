"""PyTorch, TensorFlow and JAX are not available to graded code: a stand-in that says so.

In the sandbox the real packages are hidden from the file system (see autograder.sandbox); this
finder, installed before any cell runs, makes `import torch` (and `import torch.nn.functional as
F`, `from torch import nn`) still succeed, so a notebook whose setup cell imports torch for its
self-checks runs as usual. Anything done with the stand-in (a call, arithmetic, iteration) raises
`FrameworkUnavailable` with a message that says why, and so costs the function that used it.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types

FRAMEWORKS = ("torch", "torchvision", "torchaudio", "functorch", "tensorflow", "keras", "jax", "jaxlib")
MESSAGE = ("{name} is not available while your notebook is graded: graded functions must be written with NumPy "
           "(the visible self-checks, which use PyTorch, are not re-run)")


class FrameworkUnavailable(RuntimeError):
    pass


class _Refuse:
    def __init__(self, *args, **kwargs):
        raise FrameworkUnavailable(MESSAGE.format(name=type(self).__qualname__))


class Unavailable:
    """Any attribute of the stand-in: more stand-ins on access, an error on use."""

    def __init__(self, name: str):
        object.__setattr__(self, "_name", name)

    def __getattr__(self, attr):
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        return Unavailable(f"{self._name}.{attr}")

    def __repr__(self):
        return f"<{self._name}: not available while grading>"

    def __mro_entries__(self, bases):  # `class Net(torch.nn.Module)` still defines a class
        return (_Refuse,)

    def _refuse(self, *args, **kwargs):
        raise FrameworkUnavailable(MESSAGE.format(name=self._name))

    __call__ = __iter__ = __len__ = __bool__ = __getitem__ = __setattr__ = _refuse
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _refuse
    __matmul__ = __rmatmul__ = __pow__ = __neg__ = __lt__ = __gt__ = __le__ = __ge__ = __array__ = _refuse


class _StandIn(types.ModuleType):
    def __getattr__(self, attr):
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        return Unavailable(f"{self.__name__}.{attr}")


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in FRAMEWORKS:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        module = _StandIn(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module):
        pass


def install() -> None:
    """Put the stand-in first on the import path and drop any framework already imported."""
    for name in list(sys.modules):
        if name.split(".")[0] in FRAMEWORKS:
            del sys.modules[name]
    sys.meta_path.insert(0, _Finder())
