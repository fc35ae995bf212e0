"""The kinds of topic model, one module each, over one shared base.

::

    base.py                  TopicClassifier, Prediction: the raw-text pipeline every kind shares
                             (prepare, gate, score, labels, evidence) and the save/load contract
    linear.py                "linear": n-gram TF-IDF + linear model (policy5, vntc10, topicclf.train)
    embedding.py             "embedding": frozen encoder embeddings + linear head
    transformer.py           "transformer": a fine-tuned encoder scoring token windows
    transformer_training.py  its training (train_transformer)
    routed.py                "routed": one model per language (RoutedTopicClassifier)
    registry.py              KINDS (kind -> module), load_dir, load, available_models

The arrows go one way: ``registry`` -> each kind -> ``base``. ``base`` imports no kind, a kind
imports no other kind (a routed model loads its routes through the loader it is given), and
a kind's scoring code imports none of its training code.

The kind of a saved model is ``model_type`` in its ``config.json``. A new kind is a module
here with a :class:`~topicclf.classifiers.base.TopicClassifier` subclass that sets ``kind``
and implements ``config``, ``save`` and ``from_parts`` (and ``_proba`` or ``_score`` if it
does not score through a scikit-learn pipeline), plus one entry in
:data:`topicclf.classifiers.registry.KINDS`.
"""
