"""Build the compiled hot path with the package: packet decoding and the flow table (_fastpath), and
one extension per compiled dissector kernel (src/flowradar/engine/dissect/_*.c)."""

from pathlib import Path

from setuptools import Extension, setup

_FLAGS = ["-O3", "-std=c11", "-Wall", "-Wno-unused-function"]
_KERNELS = sorted(Path("src/flowradar/engine/dissect").glob("_*.c"))
_HEADERS = [h.as_posix() for h in sorted(Path("src/flowradar/engine/dissect").glob("*.h"))]

setup(
    ext_modules=[
        Extension(
            "flowradar.engine._fastpath",
            sources=["src/flowradar/engine/_fastpath.c"],
            extra_compile_args=_FLAGS,
        ),
        *(
            Extension(
                f"flowradar.engine.dissect.{src.stem}",
                sources=[src.as_posix()],
                depends=_HEADERS,
                extra_compile_args=_FLAGS,
            )
            for src in _KERNELS
        ),
    ]
)
