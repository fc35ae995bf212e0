"""Score a Ray Dataset with a topicclf model: one model per actor, many actors, any storage.

Install with ``pip install 'topicclf[ray]'``. Example (README-ready)::

    import ray
    from topicclf.integrations.ray import TopicScorer, score_dataset

    ray.init()                                                  # or ray.init("auto") on a cluster
    ds = ray.data.read_parquet("s3://bucket/dumps/")            # or a local directory
    # ds = ray.data.read_json("s3://bucket/dumps/", file_extensions=["jsonl", "gz"])
    scored = score_dataset(ds, model="vntc10", text_field="text", id_field="id",
                           keep_columns=False, concurrency=8)
    scored.write_parquet("s3://bucket/scored/")

    # The same with map_batches directly:
    scored = ds.map_batches(TopicScorer, fn_constructor_kwargs={"model": "vntc10"},
                            batch_size=512, batch_format="pyarrow", concurrency=8)

Each output row gets the columns

``labels``   list<string>: the predicted labels (``[]`` when flagged)
``score_<label>``  float64: one column per label, e.g. ``score_The thao``
``lang``     string: detected language
``flags``    list<string>: why a text was not labelled (``empty``, ``too_short``,
             ``unsupported_language:xx``; ``not_text`` when the text cell is null or not a string)

Scores are one float column per label, not a JSON string or a map: Parquet stores and
filters them natively (``score_The thao > 0.9`` is a predicate pushdown), pandas and
Arrow read them without parsing, and their types do not depend on the batch. Columns of the
input are kept (``keep_columns=True``) or only ``id_field`` is (``keep_columns=False``).

``model`` is a shipped model name, a model directory that every node can read, or a loaded
:class:`~topicclf.TopicClassifier` (serialised once into Ray's object store: the way to go on
a cluster without shared storage).
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["TopicScorer", "score_dataset", "SCORE_PREFIX"]

SCORE_PREFIX = "score_"
_INSTALL_HINT = "Ray Data is not installed: pip install 'topicclf[ray]'"


def _import_ray():
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as e:
        raise ImportError(f"{_INSTALL_HINT} ({e})") from e
    return ray


class TopicScorer:
    """A callable class for ``Dataset.map_batches``: loads the model once per actor.

    Batches may come as ``pyarrow`` (recommended), ``pandas`` or ``numpy``; the result is
    always a ``pyarrow.Table`` with explicit column types, so that an all-empty ``flags``
    batch still has type ``list<string>`` and blocks concatenate and write cleanly.

    >>> import pandas as pd, topicclf                                           # doctest: +SKIP
    >>> scorer = TopicScorer(model="vntc10")                                    # doctest: +SKIP
    >>> scorer(pd.DataFrame({"id": [1], "text": ["Đội tuyển thắng 2-0"]})).to_pylist()  # doctest: +SKIP
    [{'id': 1, 'text': '...', 'labels': ['The thao'], 'score_Chinh tri Xa hoi': 0.001, ...}]
    """

    def __init__(self, model: Any = None, text_field: str = "text", id_field: str | None = "id",
                 title_field: str | None = None, keep_columns: bool = True):
        from ..score import _load, _model_info

        info = _model_info(model)
        self.model = _load(info.spec)
        self.model.n_jobs = 1  # Ray runs one actor per CPU it reserved: no threads of our own
        self.labels = list(self.model.labels)
        self.text_field, self.id_field, self.title_field = text_field, id_field, title_field
        self.keep_columns = keep_columns

    def __call__(self, batch):
        import pyarrow as pa

        table = _to_arrow(batch)
        if self.text_field not in table.column_names:
            raise KeyError(f"no column {self.text_field!r} in the batch (columns: {table.column_names}); "
                           "pass text_field=")
        texts = table.column(self.text_field).to_pylist()
        titles = None
        if self.title_field and self.title_field in table.column_names:
            # as topicclf score does: a title over an empty body (or one that cleans to nothing)
            # is not an article, and is scored as its body
            heads = table.column(self.title_field).to_pylist()
            titles = [h if isinstance(h, str) and h and isinstance(t, str) and t.strip() else None
                      for h, t in zip(heads, texts)]
            texts = [f"{h}\n{t}" if h else t for h, t in zip(titles, texts)]
        labels, scores, langs, flags = self._score(texts, titles)
        if not self.keep_columns:
            keep = [self.id_field] if self.id_field and self.id_field in table.column_names else []
            table = table.select(keep)
        strings = pa.list_(pa.string())
        table = table.append_column("labels", pa.array(labels, type=strings))
        for j, label in enumerate(self.labels):
            table = table.append_column(SCORE_PREFIX + label, pa.array(scores[:, j], type=pa.float64()))
        table = table.append_column("lang", pa.array(langs, type=pa.string()))
        return table.append_column("flags", pa.array(flags, type=strings))

    def _score(self, texts: list, titles: list | None = None):
        import numpy as np

        from ..score import _predict

        ok = [i for i, t in enumerate(texts) if isinstance(t, str)]
        n = len(texts)
        labels: list = [[] for _ in range(n)]
        langs: list = ["und"] * n
        flags: list = [["not_text"] for _ in range(n)]
        scores = np.zeros((n, len(self.labels)))
        if ok:
            rows = _predict(self.model, [texts[i] for i in ok], [titles[i] for i in ok] if titles else None)
            for i, (labs, sc, lang, fl) in zip(ok, rows):
                labels[i], scores[i], langs[i], flags[i] = list(labs), sc, lang, list(fl)
        return labels, scores, langs, flags


def _to_arrow(batch):
    import pyarrow as pa

    if isinstance(batch, pa.Table):
        return batch
    if isinstance(batch, dict):  # batch_format="numpy": one array per column
        return pa.table({k: pa.array(v.tolist() if getattr(v, "ndim", 1) > 1 else v) for k, v in batch.items()})
    return pa.Table.from_pandas(batch, preserve_index=False)


def score_dataset(ds, model: Any = None, *, text_field: str = "text", id_field: str | None = "id",
                  title_field: str | None = None, keep_columns: bool = True, batch_size: int = 512,
                  concurrency: int | tuple[int, int] | None = None, **map_batches_kwargs):
    """``ds`` with ``labels``, ``score_<label>``, ``lang`` and ``flags`` columns (lazy, like any
    ``map_batches``).

    ``concurrency``: actors (an int, or ``(min, max)`` to autoscale); default ``(1, CPUs - 1)``.
    Other keyword arguments go to ``Dataset.map_batches`` (``num_cpus``, ``memory``, ...).

    >>> scored = score_dataset(ray.data.read_parquet("dumps/"), model="vntc10")  # doctest: +SKIP
    >>> scored.write_parquet("scored/")                                           # doctest: +SKIP
    """
    ray = _import_ray()
    if concurrency is None:
        cpus = ray.cluster_resources().get("CPU") if ray.is_initialized() else os.cpu_count()
        # keep a CPU free for the read tasks feeding the actors, or they can starve
        concurrency = (1, max(1, int(cpus or 1) - 1))
    return ds.map_batches(
        TopicScorer,
        fn_constructor_kwargs={"model": model, "text_field": text_field, "id_field": id_field,
                               "title_field": title_field, "keep_columns": keep_columns},
        batch_size=batch_size, batch_format="pyarrow", concurrency=concurrency, **map_batches_kwargs)
