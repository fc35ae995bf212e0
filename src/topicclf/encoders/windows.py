"""Token windows: a long token list cut into overlapping model inputs.

Long texts are cut into windows of ``max_length`` tokens, each framed by the model's special
tokens and (for e5) the ``"passage: "`` prefix; :class:`~topicclf.encoders.Encoder` pools the
windows' embeddings, and a transformer topic model pools the windows' scores.
"""
from __future__ import annotations

from collections.abc import Sequence

__all__ = ["window_token_ids"]


def window_token_ids(
    input_ids: Sequence[int],
    max_length: int,
    stride: int | None = None,
    cls_id: int | None = None,
    sep_id: int | None = None,
    prefix_ids: Sequence[int] = (),
) -> list[list[int]]:
    """Cut a token list into model inputs of at most ``max_length`` tokens.

    Each window is ``[cls_id] + prefix_ids + chunk + [sep_id]`` (``None`` ids are left out).
    ``stride`` is the step, in content tokens, between window starts. The default, half a
    window (50 % overlap), puts every token in the central half of some window, with
    context on both sides, at about twice the compute of non-overlapping windows
    (``stride`` = window width). The last window is aligned to the end of the text, so
    all windows are full-length and together cover every token. Short inputs give one.

    >>> window_token_ids(list(range(10)), max_length=6, cls_id=-1, sep_id=-2)
    [[-1, 0, 1, 2, 3, -2], [-1, 2, 3, 4, 5, -2], [-1, 4, 5, 6, 7, -2], [-1, 6, 7, 8, 9, -2]]
    >>> window_token_ids([5, 6], max_length=8, cls_id=0, sep_id=2, prefix_ids=[9])
    [[0, 9, 5, 6, 2]]
    """
    head = ([] if cls_id is None else [int(cls_id)]) + [int(i) for i in prefix_ids]
    tail = [] if sep_id is None else [int(sep_id)]
    width = max_length - len(head) - len(tail)  # content tokens per window
    if width < 1:
        raise ValueError(f"max_length={max_length} leaves no room for content tokens")
    step = max(1, width // 2) if stride is None else int(stride)
    if not 1 <= step <= width:
        raise ValueError(f"stride must be in [1, {width}] (content tokens per window), got {stride}")
    ids = [int(i) for i in input_ids]
    if len(ids) <= width:
        return [head + ids + tail]
    starts = list(range(0, len(ids) - width, step))
    starts.append(len(ids) - width)  # end-aligned last window: full context, full coverage
    return [head + ids[s:s + width] + tail for s in starts]
