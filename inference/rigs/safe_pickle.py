"""Read model pickles (FLAME .pkl) without running any code from the file.

A pickle can name any importable function and call it on load; model files from the internet must not.
This unpickler resolves only numpy's array reconstruction and a few data classes (chumpy arrays, scipy
sparse matrices), and those classes become inert records of their saved fields. Everything else stops
the load with an error naming what the file asked for. chumpy and scipy are never imported.
"""

from __future__ import annotations

import io
import os
import pickle
from typing import Any

import numpy as np

from ..errors import InputError

MAX_PICKLE_BYTES = 2 * 1024**3


class Record:
    """An object from the pickle, kept as data: what kind it was and its saved state."""

    kind = ""

    def __init__(self) -> None:
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state


_RECORD_KINDS = {
    ("chumpy.ch", "Ch"): "chumpy", ("chumpy.ch_ops", "add"): "chumpy", ("chumpy.reordering", "transpose"): "chumpy",
    ("scipy.sparse.csc", "csc_matrix"): "csc", ("scipy.sparse._csc", "csc_matrix"): "csc",
    ("scipy.sparse.csr", "csr_matrix"): "csr", ("scipy.sparse._csr", "csr_matrix"): "csr",
}
_RECORD_CLASSES = {key: type(f"Record_{kind}", (Record,), {"kind": kind}) for key, kind in _RECORD_KINDS.items()}


def _reconstructor(cls: type, base: type, state: Any) -> Record:
    """copyreg._reconstructor, limited to the inert record classes."""
    if not (isinstance(cls, type) and issubclass(cls, Record)) or base is not object or state is not None:
        raise pickle.UnpicklingError("object reconstruction outside the allowed data classes")
    return cls()


def _latin1_bytes(text: str, encoding: str = "latin1") -> bytes:
    """``_codecs.encode`` as Python 3 writes protocol-2 byte strings; nothing but latin-1 is accepted."""
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise pickle.UnpicklingError("byte decoding other than latin-1")
    return text.encode("latin1")


_NUMPY = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype}
for _core in ("numpy.core", "numpy._core"):  # numpy 1.x and 2.x pickles name different modules
    # private names NumPy's pickles call, which its type stubs leave out
    _NUMPY[(f"{_core}.multiarray", "_reconstruct")] = np.core.multiarray._reconstruct  # type: ignore[attr-defined]
    _NUMPY[(f"{_core}.multiarray", "scalar")] = np.core.multiarray.scalar  # type: ignore[attr-defined]
    _NUMPY[(f"{_core}.numeric", "_frombuffer")] = np.core.numeric._frombuffer  # type: ignore[attr-defined]


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _NUMPY:
            return _NUMPY[(module, name)]
        if (module, name) in _RECORD_CLASSES:
            return _RECORD_CLASSES[(module, name)]
        if (module, name) == ("_codecs", "encode"):
            return _latin1_bytes
        if module in ("copy_reg", "copyreg") and name == "_reconstructor":
            return _reconstructor
        if module in ("__builtin__", "builtins") and name == "object":
            return object
        raise pickle.UnpicklingError(f"the file asks to run '{module}.{name}', which a model file never needs")


def safe_load(path: str | os.PathLike) -> Any:
    """Unpickle a model file as data only; InputError for anything else, truncation or corruption."""
    try:
        size = os.path.getsize(path)
        if size > MAX_PICKLE_BYTES:
            raise InputError(f"'{path}' is {size / 1e9:.1f} GB; that is not a face model.")
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise InputError(f"Could not read model file '{path}': {e.strerror or e}.") from e
    try:
        return _SafeUnpickler(io.BytesIO(data), encoding="latin1").load()
    except pickle.UnpicklingError as e:
        raise InputError(f"Refusing to load '{path}': {e}. Only plain model data (numpy arrays, chumpy and "
                         "scipy sparse matrices) is accepted; nothing in the file was run.") from e
    except (EOFError, ValueError, TypeError, IndexError, KeyError, AttributeError, MemoryError) as e:
        raise InputError(f"'{path}' is truncated or not a model pickle ({type(e).__name__}: {e}).") from e


def as_array(value: Any) -> np.ndarray:
    """A dense numpy array from an ndarray, a chumpy record or a scipy sparse record."""
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, Record):
        state = value.state if isinstance(value.state, dict) else {}
        if value.kind == "chumpy" and "x" in state:
            return np.asarray(state["x"])
        if value.kind in ("csc", "csr"):
            return _dense_sparse(value.kind, state)
    if isinstance(value, (list, tuple, int, float)):
        return np.asarray(value)
    raise InputError(f"Unexpected value of type {type(value).__name__} in the model file.")


def _dense_sparse(kind: str, state: dict) -> np.ndarray:
    try:
        data, indices, indptr = (np.asarray(state[k]) for k in ("data", "indices", "indptr"))
        rows, cols = (int(n) for n in (state["_shape"] if "_shape" in state else state["shape"]))
    except (KeyError, TypeError, ValueError) as e:
        raise InputError("A sparse matrix in the model file is incomplete.") from e
    out = np.zeros((rows, cols), dtype=np.float64)
    major = cols if kind == "csc" else rows
    if len(indptr) != major + 1 or indptr[-1] > len(indices) or len(indices) != len(data):
        raise InputError("A sparse matrix in the model file is inconsistent.")
    if len(indices) and (indices.min() < 0 or indices.max() >= (rows if kind == "csc" else cols)):
        raise InputError("A sparse matrix in the model file points outside its shape.")
    for m in range(major):
        sl = slice(indptr[m], indptr[m + 1])
        if kind == "csc":
            out[indices[sl], m] = data[sl]
        else:
            out[m, indices[sl]] = data[sl]
    return out
