"""Build the compiled hot path (packet decoding and the flow table) with the package."""
from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "flowradar.engine._fastpath",
            sources=["src/flowradar/engine/_fastpath.c"],
            extra_compile_args=["-O3", "-std=c11", "-Wall", "-Wno-unused-function"],
        )
    ]
)
