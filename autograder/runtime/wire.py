"""Values as JSON: how inputs reach the sandbox and outputs come back, never as pickles.

`encode` turns arrays, tuples, dicts, lists and scalars into JSON-safe data; `decode` undoes it.
Decoding what the sandbox sends is defensive (`decode(value, untrusted=True)`): bounded nesting and
size, only float64/int64/bool arrays, and any malformed value raises `WireError`, never anything
else, so a forged message is one submission's problem and not the grader's.
"""
from __future__ import annotations

import base64
import binascii

import numpy as np

MAX_DEPTH = 12
MAX_ITEMS = 100_000  # elements of one list or dict
MAX_ARRAY_VALUES = 4_000_000
_DTYPES = {"f8": np.float64, "i8": np.int64, "b1": np.bool_}


class WireError(ValueError):
    """A value that does not decode: forged, truncated or over a limit."""


def encode(value):
    """JSON-safe form of `value` (ndarray, tuple, list, dict with str keys, str, number, bool, None)."""
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        a = np.asarray(value)
        kind = "b1" if a.dtype == np.bool_ else "i8" if np.issubdtype(a.dtype, np.integer) else "f8"
        a = np.array(a, dtype=_DTYPES[kind], order="C")  # ascontiguousarray would make 0-d arrays 1-d
        return {"__nd__": kind, "shape": list(a.shape), "data": base64.b64encode(a.tobytes()).decode("ascii")}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {"__dict__": [[str(k), encode(v)] for k, v in value.items()]}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot send a {type(value).__name__} over the wire")


def decode(value, untrusted: bool = False, _depth: int = 0):
    """The value `encode` was given. With `untrusted`, every limit above is enforced."""
    if _depth > MAX_DEPTH:
        raise WireError("nested too deeply")
    if isinstance(value, list):
        if untrusted and len(value) > MAX_ITEMS:
            raise WireError("a list is too long")
        return [decode(v, untrusted, _depth + 1) for v in value]
    if isinstance(value, dict):
        if "__nd__" in value:
            return _array(value)
        if "__tuple__" in value:
            items = value["__tuple__"]
            if not isinstance(items, list):
                raise WireError("a malformed tuple")
            return tuple(decode(v, untrusted, _depth + 1) for v in items)
        pairs = value.get("__dict__")
        if not isinstance(pairs, list) or (untrusted and len(pairs) > MAX_ITEMS):
            raise WireError("a malformed dict")
        out = {}
        for pair in pairs:
            if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
                raise WireError("a malformed dict entry")
            out[pair[0]] = decode(pair[1], untrusted, _depth + 1)
        return out
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise WireError(f"an unexpected {type(value).__name__}")


def _array(value: dict) -> np.ndarray:
    kind, shape, data = value.get("__nd__"), value.get("shape"), value.get("data")
    if kind not in _DTYPES or not isinstance(shape, list) or not isinstance(data, str):
        raise WireError("a malformed array")
    if len(shape) > 8 or not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= MAX_ARRAY_VALUES for n in shape):
        raise WireError("an array with an impossible shape")
    size = int(np.prod(shape, dtype=np.int64))
    if size > MAX_ARRAY_VALUES:
        raise WireError("an array that is too large")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise WireError("an array whose data is not base64") from None
    dtype = np.dtype(_DTYPES[kind])
    if len(raw) != size * dtype.itemsize:
        raise WireError(f"an array with {len(raw) // dtype.itemsize} values for shape {tuple(shape)}")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
