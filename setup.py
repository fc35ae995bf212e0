"""Only the optional C extension lives here; everything else is in pyproject.toml.

`optional=True`: without a C compiler the install still succeeds and topicclf falls back
to its NumPy implementation of the same features (slower, same numbers).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("topicclf._ngram", ["src/topicclf/_ngram.c"], optional=True,
                             extra_compile_args=["-O3"])])
