"""Label descriptions: what each label of a model means, kept in the model's ``config.json``.

A model's ``config.json`` holds ``label_descriptions``, one sentence or paragraph per label
(``{"sport": "matches, athletes, competitions"}``); :func:`topicclf.train` takes them as
``label_descriptions=`` and ``topicclf train --label-descriptions FILE.json``. The shipped
label sets have theirs in the package (``topicclf/resources``): the policy5 taxonomy
(``docs/TAXONOMY.md`` in the repository) and the VNTC sections. A model of one of these
families that was saved without descriptions gets the packaged ones when it is loaded.

>>> d = packaged_descriptions("policy5", ["democracy", "religion"])
>>> d["religion"].startswith("Religion (Tôn giáo): ")
True
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from typing import Mapping, Sequence

__all__ = ["packaged_taxonomy", "packaged_descriptions", "check_descriptions", "with_label_descriptions",
           "load_descriptions_file"]

_PACKAGED = {"policy5": "policy5_taxonomy.json", "vntc10": "vntc10_labels.json"}


@lru_cache(maxsize=None)
def _read(resource: str) -> dict:
    return json.loads(resources.files("topicclf").joinpath("resources", resource).read_text(encoding="utf-8"))


def _family(name: str | None) -> str | None:
    """``"policy5"`` for ``policy5``, ``policy5-<variant>``, ``policy5 (train only)``; else ``None``."""
    for family in _PACKAGED:
        if name and re.fullmatch(rf"{re.escape(family)}(?:[-_ ].*)?", str(name)):
            return family
    return None


def packaged_taxonomy(name: str) -> dict | None:
    """The packaged taxonomy of a shipped model family (``policy5``, ``vntc10``) or ``None``."""
    family = _family(name)
    return _read(_PACKAGED[family]) if family else None


def _describe(entry: dict) -> str:
    text = f"{entry['title']} ({entry['title_vi']}): {entry['covers']}"
    if entry.get("excludes"):
        text += f". Not: {entry['excludes']}"
    return text + "."


def packaged_descriptions(name: str | None, labels: Sequence[str]) -> dict[str, str] | None:
    """Descriptions of ``labels`` from the packaged taxonomy of the model family ``name``, if
    it describes every one of them; else ``None``."""
    tax = packaged_taxonomy(name) if name else None
    if tax is None or not set(labels) <= set(tax["labels"]):
        return None
    return {l: _describe(tax["labels"][l]) for l in labels}


def check_descriptions(descriptions: Mapping[str, str] | None, labels: Sequence[str]) -> dict[str, str] | None:
    """``descriptions`` validated against the model's ``labels``: a mapping of known labels to
    non-empty strings (labels may be left out). Raises ``ValueError`` naming the problem."""
    if descriptions is None:
        return None
    if not isinstance(descriptions, Mapping):
        raise ValueError(f"label descriptions must be a mapping label -> text, got {type(descriptions).__name__}")
    unknown = sorted(set(descriptions) - set(labels), key=str)
    if unknown:
        raise ValueError(f"descriptions of unknown labels {unknown}; the model's labels are {list(labels)}")
    bad = [l for l, d in descriptions.items() if not isinstance(d, str) or not d.strip()]
    if bad:
        raise ValueError(f"the descriptions of {bad} are not non-empty strings")
    return {l: descriptions[l].strip() for l in labels if l in descriptions}


def with_label_descriptions(config: dict) -> dict:
    """``config`` with ``label_descriptions`` from the package for a shipped family's model
    saved without them (the config is returned unchanged otherwise)."""
    if config.get("label_descriptions") or not config.get("labels"):
        return config
    found = packaged_descriptions(config.get("name"), [str(l) for l in config["labels"]])
    return {**config, "label_descriptions": found} if found else config


def load_descriptions_file(path) -> dict[str, str]:
    """A JSON file ``{"label": "description", ...}`` (a value may also be an object with a
    ``description`` field); raises ``ValueError`` naming the file."""
    from pathlib import Path

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise FileNotFoundError(f"{path}: cannot read the label descriptions ({e.strerror or e})") from None
    except ValueError as e:
        raise ValueError(f"{path}: not JSON ({e})") from None
    if isinstance(data, dict) and isinstance(data.get("labels"), dict):
        data = data["labels"]  # a taxonomy file like topicclf/resources/policy5_taxonomy.json
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object mapping each label to its description")
    out = {}
    for label, v in data.items():
        if isinstance(v, dict):
            v = v.get("description") or (_describe(v) if {"title", "title_vi", "covers"} <= set(v) else None)
        if not isinstance(v, str):
            raise ValueError(f"{path}: the description of {label!r} is not a string")
        out[str(label)] = v
    return out
