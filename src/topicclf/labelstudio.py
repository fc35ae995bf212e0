"""Label Studio, both ways: tasks to import (``topicclf select --format label-studio``) and the
JSON export read back as labelled data (``topicclf train --data export.json``).

Import (what :func:`to_tasks` writes): a JSON list of tasks, each ::

    {"data": {"text": ..., "id": ..., "why": ..., "lang": ..., "scores": {...}},
     "predictions": [{"model_version": "policy5", "score": 0.03,
                      "result": [{"from_name": "labels", "to_name": "text", "type": "choices",
                                  "value": {"choices": ["democracy"]}}]}]}

``from_name``/``to_name`` match the config of :func:`labeling_config` (a ``<Choices
name="labels" toName="text">`` over ``<Text name="text">``); the prediction's ``score`` is
the article's uncertainty (0 = on the decision boundary), so sorting by it in Label Studio
puts the hardest first.

Export (what :func:`read_label_studio` reads): Label Studio's "JSON" export, a list of tasks
with ``data`` and ``annotations`` (``[{"result": [{"type": "choices", "value": {"choices":
[...]}}], "was_cancelled": false, ...}]``). The latest annotation that was not cancelled
counts (by ``updated_at``, then ``created_at``, then ``id``); its choices are the labels (an
empty result is "no label", which a multi-label set allows). Tasks without one are skipped,
counted in a :class:`LabelStudioWarning`. The reading side is in :mod:`topicclf.data` (which
:func:`topicclf.load_records`, ``topicclf train`` and ``topicclf evaluate`` use), re-exported here.
"""

from __future__ import annotations

from typing import Sequence
from xml.sax.saxutils import quoteattr

# the reading side lives beside the other labelled-file readers
from .data import LabelStudioWarning, is_label_studio_export, read_label_studio

__all__ = ["to_tasks", "labeling_config", "is_label_studio_export", "read_label_studio", "LabelStudioWarning"]


def to_tasks(rows: Sequence[dict], clf, from_name: str = "labels", to_name: str = "text") -> list[dict]:
    """Label Studio import tasks from :func:`topicclf.select` rows (the model's labels as a
    pre-annotation, its scores and the reason for choosing in ``data``)."""
    version = str(getattr(clf, "name", "topicclf"))
    tasks = []
    for r in rows:
        data = {"text": r["text"], "id": r["id"], "why": r.get("why", ""), "lang": r.get("lang"),
                "scores": r.get("scores", {}), "selected_as": r.get("selected_as")}
        result = [{"from_name": from_name, "to_name": to_name, "type": "choices",
                   "value": {"choices": list(r.get("labels", []))}}] if r.get("labels") else []
        tasks.append({"data": data, "predictions": [{"model_version": version, "score": r.get("uncertainty"),
                                                     "result": result}]})
    return tasks


def labeling_config(labels: Sequence[str], multilabel: bool = True) -> str:
    """A Label Studio labelling config for these labels: the article, why it was chosen, and
    one choice per label (several allowed for a multi-label model)."""
    choices = "\n".join(f"    <Choice value={quoteattr(str(l))}/>" for l in labels)
    mode = "multiple" if multilabel else "single"
    return (
        "<View>\n"
        '  <Header value="$why" size="6"/>\n'
        '  <Text name="text" value="$text"/>\n'
        f'  <Choices name="labels" toName="text" choice="{mode}" showInline="true">\n'
        f"{choices}\n"
        "  </Choices>\n"
        "</View>\n")
