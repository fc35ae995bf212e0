"""Model cards: the README.md written beside every saved model.

The card is generated from ``config.json`` so that every number in it is one the
training or evaluation command recorded; scripts append their own sections (variant
tables, evaluation reports) through ``extra``.
"""

from __future__ import annotations

import json

__all__ = ["model_card"]


def _fmt(v) -> str:
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def _is_shipped(name: str) -> bool:
    try:
        from .shipped import available_models

        return name in available_models()
    except Exception:  # a card is still written without the list
        return False


def _how_to_load(name: str, path) -> list[str]:
    """Code that loads this model: by name for a shipped model, else by its folder's path."""
    from pathlib import Path

    folder = Path(path).name if path is not None else name
    if folder == name and _is_shipped(name):
        where, comment = name, "a shipped model; or the path of this folder"
    else:  # the path as the user gave it, unless it is absolute (no home folders in a card)
        where = Path(path).as_posix() if path is not None and not Path(path).is_absolute() else f"path/to/{folder}"
        comment = "the path of this model's folder (from elsewhere: its full path)"
    return ["```python", "import topicclf", f"clf = topicclf.load({where!r})  # {comment}",
            "clf.classify(\"...article text...\")   # or a list of texts", "```", "",
            "or from a shell: `topicclf classify --model " + where + " article.txt`", ""]


def model_card(config: dict, extra: str = "", path=None) -> str:
    """Markdown model card for a model ``config`` (see :mod:`topicclf.serialization`); ``path``:
    the folder it is saved to, as the user named it (the card shows how to load it from there)."""
    name = config.get("name", "model")
    kind = "multi-label" if config.get("multilabel") else "single-label"
    lines = [
        f"# topicclf model `{name}`", "",
        config.get("description", f"A {kind} {config.get('model_type', 'linear')} topic classifier."), "",
        *_how_to_load(name, path),
        "## Labels", "",
        f"{kind}; languages accepted: {', '.join(config.get('languages', []))} "
        "(other languages get no labels and the flag `unsupported_language:xx`).", "",
    ]
    desc = config.get("label_descriptions") or {}
    thr = config.get("thresholds", {})
    lines += ["| label | threshold |" + (" meaning |" if desc else ""), "|---|---|" + ("---|" if desc else "")]
    for l in config.get("labels", []):
        t = thr.get(l)
        if not config.get("multilabel"):
            cell = "argmax"
        else:
            cell = f"{t:.3f}" if t is not None else "per route (see `routes/*/README.md`)"
        meaning = f" {desc.get(l, '').replace('|', '/')} |" if desc else ""
        lines.append(f"| `{l}` | {cell} |{meaning}")
    tr = config.get("training", {})
    lines += ["", "## Training", ""]
    for d in tr.get("data", []):
        lines.append(f"- data: `{d.get('path')}` ({d.get('records')} records, sha256 `{d.get('sha256', '')[:16]}…`)")
    if tr.get("records") is not None:
        lines.append(f"- records used: {tr['records']}; label counts: {json.dumps(tr.get('label_counts', {}), ensure_ascii=False)}")
    if tr.get("command"):
        lines.append(f"- rebuilt by: `{tr['command']}`")
    feats = config.get("vectorizer") or config.get("featurizer")
    lines.append(f"- seed: {config.get('seed')}" + (f"; features: {json.dumps(feats)}" if feats else ""))
    clf = config.get("classifier", {}).get("params", {})
    if clf:
        lines.append(f"- classifier: {json.dumps(clf)}")
    metrics = config.get("metrics", {})
    if metrics:
        lines += ["", "## Measured quality", ""]
        for split, m in metrics.items():
            if not isinstance(m, dict):
                continue
            shown = {k: v for k, v in m.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
            cmd = f" — reproduce: `{m['command']}`" if m.get("command") else ""
            lines.append(f"- **{split}**: " + ", ".join(f"{k} {_fmt(v)}" for k, v in shown.items()) + cmd)
    v = config.get("versions", {})
    if v:
        lines += ["", "## Library versions at save time", "", ", ".join(f"{k} {x}" for k, x in v.items())]
    lines += ["", "## Files", "",
              "`config.json` (this card's facts), `weights.safetensors` (float16 weights, float32 biases), "
              "`vocab.json` (tokens), `manifest.json` (SHA-256 of every file, checked at load). "
              "Loading executes no code.", ""]
    if extra:
        lines += [extra.rstrip(), ""]
    return "\n".join(lines)
