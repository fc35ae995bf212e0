"""Every module imports on its own, in a fresh interpreter (catches import cycles that the
order of imports inside one test run would hide)."""

import subprocess
import sys

import pytest

MODULES = ["topicclf", "topicclf.cli", "topicclf.score", "topicclf.embeddings", "topicclf.sentences",
           "topicclf.classifiers", "topicclf.classifiers.base", "topicclf.classifiers.registry",
           "topicclf.classifiers.linear", "topicclf.classifiers.embedding", "topicclf.classifiers.routed",
           "topicclf.classifiers.transformer", "topicclf.classifiers.transformer_training",
           "topicclf.encoders", "topicclf.encoders.e5", "topicclf.encoders.sentencepiece",
           "topicclf.encoders.registry", "topicclf.encoders.windows", "topicclf.encoders.encoder",
           "topicclf.encoders.quantize", "topicclf.integrations.ray",
           # compatibility modules (the code moved to topicclf.classifiers)
           "topicclf.model", "topicclf.routed", "topicclf.transformer", "topicclf.transformer_training"]


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_alone(module):
    r = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-1500:]


def test_transformer_reexports():
    from topicclf.transformer import EmbeddingFeaturizer, train_transformer, train_transformer_file

    assert callable(train_transformer) and callable(train_transformer_file) and EmbeddingFeaturizer.__name__ == "EmbeddingFeaturizer"


def test_compatibility_modules_reexport_the_new_homes():
    import topicclf
    from topicclf.classifiers.routed import RoutedTopicClassifier
    from topicclf.classifiers.transformer import TransformerTopicClassifier
    from topicclf.model import TopicClassifier, load
    from topicclf.routed import RoutedTopicClassifier as R
    from topicclf.transformer import TransformerTopicClassifier as T

    assert TopicClassifier is topicclf.TopicClassifier and load is topicclf.load
    assert R is RoutedTopicClassifier and T is TransformerTopicClassifier


def test_loading_a_linear_model_imports_no_torch():
    code = "import sys, topicclf; topicclf.load('vntc10'); print('torch' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-1500:]
    assert r.stdout.strip() == "False"


HEAVY = ("sklearn", "scipy", "matplotlib", "torch", "underthesea", "transformers")


def _loaded_after(code: str) -> list[str]:
    probe = f"import sys\n{code}\nprint(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r}))"
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-1500:]
    return eval(r.stdout.strip().splitlines()[-1])


def test_import_topicclf_loads_no_heavy_dependency():
    # start-up of the CLI and of scripts: the heavy modules come with the functions that need them
    assert _loaded_after("import topicclf, topicclf.cli") == []


def test_loading_and_classifying_with_a_linear_model_loads_no_heavy_dependency():
    code = ("import topicclf\nclf = topicclf.load('policy5')\n"
            "p = clf.classify('Quốc hội thảo luận về tự do tôn giáo và quyền con người tại Việt Nam.')\n"
            "assert p.lang == 'vi' and set(p.scores) == set(clf.labels), p\n"
            "clf.set_thresholds({clf.labels[0]: 0.5}); clf.config()")
    assert _loaded_after(code) == []


def test_lazy_flat_names_are_listed_and_resolve():
    import inspect

    import topicclf

    for name in topicclf.__all__:
        assert name in dir(topicclf) and getattr(topicclf, name) is not None, name
    from topicclf.trainer import train

    assert topicclf.train is train and "texts" in inspect.signature(topicclf.train).parameters
    with pytest.raises(AttributeError):
        topicclf.no_such_name


def test_flat_functions_stay_functions_after_their_modules_are_imported():
    code = ("import topicclf, topicclf.evaluate, topicclf.trainer, topicclf.features, topicclf.linear\n"
            "assert callable(topicclf.evaluate) and callable(topicclf.train), topicclf.evaluate\n"
            "assert topicclf.evaluate.__module__ == 'topicclf.evaluate'")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-1500:]
