"""Build the optional C accelerators; the project's metadata lives in pyproject.toml.

kubeward.sources._lineindex is a C port of kubeward.sources.locate.TextIndex
(source-line recovery); kubeward.sources._guard is a C port of the YAML loader's
guard (kubeward.sources.yamlparse.needs_faithful); kubeward._tree is a C port of the
engine's copy of a tree with its strings interned (kubeward.engine._interned_tree,
used when checked resources are released) and of kubeward.inventory._dig. All three are optional: without a
compiler the install still succeeds and kubeward uses the Python implementations.
"""

import sys

from setuptools import Extension, setup

FLAGS = [] if sys.platform == "win32" else ["-O2", "-Wall"]

setup(
    ext_modules=[
        Extension(
            "kubeward.sources._lineindex",
            ["src/kubeward/sources/_lineindex.c"],
            extra_compile_args=FLAGS,
            optional=True,
        ),
        Extension(
            "kubeward.sources._guard",
            ["src/kubeward/sources/_guard.c"],
            extra_compile_args=FLAGS,
            optional=True,
        ),
        Extension(
            "kubeward._tree",
            ["src/kubeward/_tree.c"],
            extra_compile_args=FLAGS,
            optional=True,
        ),
    ]
)
