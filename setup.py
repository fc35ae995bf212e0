"""Only the optional C extensions live here; everything else is in pyproject.toml.

`optional=True`: without a C compiler the install still succeeds and topicclf falls back
to its pure-Python/NumPy implementations of the same functions (slower, same results):

* ``topicclf._ngram``: the n-gram TF-IDF featurizer (features.py);
* ``topicclf._textfast``: the common case of ``normalize`` (text.py);
* ``topicclf._langscan``: the word/letter evidence count of ``detect_language`` (lang.py);
* ``topicclf._jsonrec``: the wanted fields of a JSONL line for batch scoring (score_io.py;
  ``json.loads`` is the fallback and the referee).

``TOPICCLF_NO_EXT=1`` in the environment makes topicclf ignore all four.
"""

from setuptools import Extension, setup


def ext(name: str) -> Extension:
    return Extension(f"topicclf.{name}", [f"src/topicclf/{name}.c"], optional=True,
                     extra_compile_args=["-O3"])


setup(ext_modules=[ext("_ngram"), ext("_textfast"), ext("_langscan"), ext("_jsonrec")])
