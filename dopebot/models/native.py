"""LightGBM inference through its C library (lib_lightgbm) with ctypes, without importing the `lightgbm`
package: that import pulls in scipy.sparse and pandas (0.3-0.5 s on the 2-core VM), which a backtest or a live
runner that only predicts does not need. Training still uses the package; both share the one shared library it
ships (the same handle when both are loaded in one process).

Signatures are LightGBM 4.x's include/LightGBM/c_api.h. Every call's return code is checked; a failure becomes
a one-line ModelFileError carrying LGBM_GetLastError()."""

from __future__ import annotations

import ctypes
import importlib.util
import re
from pathlib import Path
from typing import Any

import numpy as np

from dopebot.core.errors import ModelFileError

C_API_DTYPE_FLOAT64 = 1
C_API_PREDICT_NORMAL = 0
_HANDLE = ctypes.c_void_p
_DOUBLE_P = ctypes.POINTER(ctypes.c_double)
_NAME_BUFFER = 256
_MAX_ROWS = 2**31 - 1  # nrow is an int32 in the C API

_library: ctypes.CDLL | None = None


def library_path() -> Path:
    """<lightgbm package>/lib/lib_lightgbm.so, found without importing the package."""
    spec = importlib.util.find_spec("lightgbm")
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError("LightGBM is not installed (pip install lightgbm)")
    folder = Path(next(iter(spec.submodule_search_locations))) / "lib"
    for name in ("lib_lightgbm.so", "lib_lightgbm.dylib", "lib_lightgbm.dll"):
        if (folder / name).exists():
            return folder / name
    raise ModelFileError(f"{folder}: no lib_lightgbm shared library")


def _declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    int_p, int64_p = ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int64)
    signatures: dict[str, list[Any]] = {
        "LGBM_BoosterLoadModelFromString": [ctypes.c_char_p, int_p, ctypes.POINTER(_HANDLE)],
        "LGBM_BoosterFree": [_HANDLE],
        "LGBM_BoosterGetNumFeature": [_HANDLE, int_p],
        "LGBM_BoosterNumberOfTotalModel": [_HANDLE, int_p],
        "LGBM_BoosterGetFeatureNames": [_HANDLE, ctypes.c_int, int_p, ctypes.c_size_t,
                                        ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_char_p)],
        "LGBM_BoosterPredictForMat": [_HANDLE, ctypes.c_void_p, ctypes.c_int, ctypes.c_int32, ctypes.c_int32,
                                      ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_char_p,
                                      int64_p, _DOUBLE_P],
        "LGBM_BoosterPredictForMatSingleRowFastInit": [_HANDLE, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                                                       ctypes.c_int, ctypes.c_int32, ctypes.c_char_p,
                                                       ctypes.POINTER(_HANDLE)],
        "LGBM_BoosterPredictForMatSingleRowFast": [_HANDLE, ctypes.c_void_p, int64_p, _DOUBLE_P],
        "LGBM_FastConfigFree": [_HANDLE],
    }
    for name, arguments in signatures.items():
        function = getattr(lib, name)
        function.argtypes = arguments
        function.restype = ctypes.c_int
    lib.LGBM_GetLastError.argtypes = []
    lib.LGBM_GetLastError.restype = ctypes.c_char_p
    return lib


def load_library() -> ctypes.CDLL:
    """The shared library, loaded once (the same one the lightgbm package loads, if it is imported too)."""
    global _library
    if _library is None:
        path = library_path()
        try:
            _library = _declare(ctypes.CDLL(str(path)))
        except (OSError, AttributeError) as error:
            raise ModelFileError(f"{path}: cannot load LightGBM's library ({error})") from None
    return _library


class LightGBMError(ModelFileError):
    """A C API call failed; `reason` is the first line of LightGBM's own message."""

    def __init__(self, doing: str, reason: str) -> None:
        super().__init__(f"LightGBM: {doing} failed ({reason})")
        self.reason = reason


def _check(status: int, doing: str) -> None:
    if status != 0:
        message = (load_library().LGBM_GetLastError() or b"").decode(errors="replace").strip()
        raise LightGBMError(doing, message.splitlines()[0] if message else "no message")


def _check_framing(text: bytes) -> None:
    """LightGBM cuts the trees out of a model text at the byte offsets its header lists (tree_sizes=) without
    checking them against the text's length: a truncated model crashes the process (the lightgbm package's
    Booster(model_str=...) too). Refuse text whose trees are not all where the header puts them. Other damage
    is what the card's SHA-256 is for."""
    first_tree = text.find(b"\nTree=") + 1
    if first_tree == 0:
        return  # no tree at all: LightGBM says what is missing
    sizes = re.search(rb"^tree_sizes=([0-9 ]*)$", text[:first_tree], re.MULTILINE)
    if sizes is None:
        if b"\nend of trees" not in text:
            raise LightGBMError("loading the model", "no 'end of trees' line: truncated?")
        return
    position = first_tree
    for index, size in enumerate(int(size) for size in sizes.group(1).split()):
        if not text.startswith(b"Tree=%d" % index, position):
            raise LightGBMError("loading the model", f"tree {index} is not where the header says: truncated or edited")
        position += size
    if not text.startswith(b"end of trees", position):
        raise LightGBMError("loading the model", "no 'end of trees' after the last tree: truncated or edited")


class NativeBooster:
    """A model loaded from its text, for prediction only. Method names follow lightgbm.Booster's so callers
    (and tests comparing the two) read the same."""

    def __init__(self, model_text: str) -> None:
        self._lib = load_library()
        self._handle = _HANDLE()
        encoded = model_text.encode()
        _check_framing(encoded)
        iterations = ctypes.c_int(0)
        _check(self._lib.LGBM_BoosterLoadModelFromString(encoded, ctypes.byref(iterations),
                                                         ctypes.byref(self._handle)), "loading the model")
        self.iterations = iterations.value
        self._features = self._count("LGBM_BoosterGetNumFeature")

    @property
    def handle(self) -> ctypes.c_void_p:
        if not self._handle:
            raise ModelFileError("LightGBM: the model was closed")
        return self._handle

    def _count(self, function: str) -> int:
        value = ctypes.c_int(0)
        _check(getattr(self._lib, function)(self.handle, ctypes.byref(value)), function)
        return value.value

    def num_feature(self) -> int:
        return self._features

    def num_trees(self) -> int:
        return self._count("LGBM_BoosterNumberOfTotalModel")

    def feature_name(self) -> list[str]:
        count = self._features
        size = _NAME_BUFFER
        for _ in range(2):  # the second time with the buffer size the library asked for
            buffers = [ctypes.create_string_buffer(size) for _ in range(count)]
            pointers = (ctypes.c_char_p * count)(*(ctypes.cast(b, ctypes.c_char_p) for b in buffers))
            written, needed = ctypes.c_int(0), ctypes.c_size_t(0)
            _check(self._lib.LGBM_BoosterGetFeatureNames(self.handle, count, ctypes.byref(written), size,
                                                          ctypes.byref(needed), pointers), "reading feature names")
            if needed.value <= size:
                break
            size = needed.value
        if written.value != count:
            raise ModelFileError(f"LightGBM: {written.value} feature names for {count} features")
        return [buffer.value.decode() for buffer in buffers]

    def predict(self, data: np.ndarray, num_threads: int = 1, out: np.ndarray | None = None) -> np.ndarray:
        """One prediction per row of a 2-D float64 array (C- or Fortran-ordered, read in place), as
        lightgbm.Booster.predict(data, num_threads=...) returns it: all trees, transformed output. `out`, a
        contiguous float64 array of one value per row, receives them without an extra allocation."""
        matrix = np.asarray(data, dtype=np.float64)
        if matrix.ndim != 2:
            raise ValueError(f"expected a 2-D array, got {matrix.ndim} dimension(s)")
        rows, columns = matrix.shape
        if rows > _MAX_ROWS:
            raise ValueError(f"{rows} rows: LightGBM predicts at most {_MAX_ROWS} per call")
        if columns != self._features:
            raise ModelFileError(f"LightGBM: the model takes {self._features} features, got {columns}")
        if not (matrix.flags.c_contiguous or matrix.flags.f_contiguous):
            matrix = np.ascontiguousarray(matrix)
        row_major = 1 if matrix.flags.c_contiguous else 0
        if out is None:
            out = np.empty(rows, dtype=np.float64)
        elif out.shape != (rows,) or out.dtype != np.float64 or not out.flags.c_contiguous or not out.flags.writeable:
            raise ValueError(f"out must be a writable contiguous float64 array of {rows} values")
        if rows == 0:
            return out
        written = ctypes.c_int64(0)
        _check(self._lib.LGBM_BoosterPredictForMat(
            self.handle, matrix.ctypes.data, C_API_DTYPE_FLOAT64, rows, columns, row_major, C_API_PREDICT_NORMAL,
            0, -1, f"num_threads={max(1, int(num_threads))}".encode(), ctypes.byref(written),
            out.ctypes.data_as(_DOUBLE_P)), "predicting")
        if written.value != rows:
            raise ModelFileError(f"LightGBM: {written.value} predictions for {rows} rows (not a one-output model?)")
        return out

    def close(self) -> None:
        if self._handle:
            self._lib.LGBM_BoosterFree(self._handle)
            self._handle = _HANDLE()

    def __del__(self) -> None:
        if getattr(self, "_handle", None):
            self.close()


class FastPredictor:
    """One-row prediction through LightGBM's C fast path (LGBM_BoosterPredictForMatSingleRowFast), set up
    once per model: a few µs instead of tens for a general predict call, identical outputs (tested)."""

    def __init__(self, booster: NativeBooster, features: int, threads: int = 1) -> None:
        self._lib = booster._lib
        self._booster = booster  # keeps the model alive as long as the fast configuration
        self._handle = _HANDLE()
        self._row = np.zeros(features, dtype=np.float64)
        self._pointer = self._row.ctypes.data_as(ctypes.c_void_p)
        self._out = np.zeros(1, dtype=np.float64)
        self._out_pointer = self._out.ctypes.data_as(_DOUBLE_P)
        self._length = ctypes.c_int64(0)
        _check(self._lib.LGBM_BoosterPredictForMatSingleRowFastInit(
            booster.handle, C_API_PREDICT_NORMAL, 0, -1, C_API_DTYPE_FLOAT64, features,
            f"num_threads={max(1, int(threads))}".encode(), ctypes.byref(self._handle)), "preparing fast predict")
        # a fresh function pointer without argtypes: the arguments are ready-made ctypes objects, and skipping
        # the per-call conversion saves ~1.5 µs of the ~5 µs call
        self._predict = self._lib["LGBM_BoosterPredictForMatSingleRowFast"]
        self._predict.restype = ctypes.c_int
        self._length_ref = ctypes.byref(self._length)

    def predict(self, values: list[float] | np.ndarray) -> float:
        self._row[:] = values
        if self._predict(self._handle, self._pointer, self._length_ref, self._out_pointer) != 0:
            _check(-1, "predicting one row")
        return float(self._out[0])

    def close(self) -> None:
        if self._handle:
            self._lib.LGBM_FastConfigFree(self._handle)
            self._handle = _HANDLE()

    def __del__(self) -> None:
        if getattr(self, "_handle", None):
            self.close()
