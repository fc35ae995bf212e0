"""Progress for long runs whose stderr is not a terminal (a log file, ``nohup``, a pipe).

A tqdm bar redraws one line with carriage returns, which a log file turns into noise, so
tqdm is disabled there; :class:`LogProgress` takes its place with the same small interface
(``update``, ``set_postfix``, ``total``, ``n``, ``refresh``, ``close``) and writes one plain
line every ``interval`` seconds, and one at the end::

    topicclf: scoring: 120,000 of 1,000,000 records (12.0%), 9,850 records/s, rejected=3, ETA 1m29s

``$TOPICCLF_PROGRESS_INTERVAL`` sets the interval in seconds (default 30).
"""

from __future__ import annotations

import os
import sys
import time

__all__ = ["LogProgress", "progress_interval"]


def progress_interval(default: float = 30.0) -> float:
    try:
        return max(0.0, float(os.environ.get("TOPICCLF_PROGRESS_INTERVAL", default)))
    except ValueError:
        return default


def _duration(s: float) -> str:
    s = int(round(s))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


class LogProgress:
    """Periodic progress lines on ``file`` (default stderr); see the module docstring."""

    def __init__(self, desc: str, total: int | None = None, initial: int = 0, unit: str = "records",
                 interval: float | None = None, file=None):
        self.desc, self.total, self.n, self.unit = desc, total, initial, unit
        self.interval = progress_interval() if interval is None else interval
        self.file = file
        self._start_n = initial
        self._t0 = self._last = time.monotonic()
        self._postfix: dict = {}
        self._closed = False

    def set_postfix(self, refresh: bool = False, **kwargs) -> None:
        self._postfix.update(kwargs)

    def update(self, k: int = 1) -> None:
        self.n += k
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self._emit(now)

    def refresh(self) -> None:
        pass

    def line(self, now: float | None = None, final: bool = False) -> str:
        now = time.monotonic() if now is None else now
        elapsed = now - self._t0
        rate = (self.n - self._start_n) / elapsed if elapsed > 0 else 0.0
        done = f"{self.n:,}" + (f" of {self.total:,}" if self.total else "") + f" {self.unit}"
        if self.total:
            done += f" ({100 * self.n / self.total:.1f}%)"
        parts = [done, f"{rate:,.0f} {self.unit}/s"] + [f"{k}={v}" for k, v in self._postfix.items()]
        if final:
            parts.append(f"done in {_duration(elapsed)}")
        elif self.total and rate > 0 and self.n < self.total:
            parts.append(f"ETA {_duration((self.total - self.n) / rate)}")
        return f"topicclf: {self.desc}: " + ", ".join(parts)

    def _emit(self, now: float | None = None, final: bool = False) -> None:
        print(self.line(now, final), file=self.file or sys.stderr, flush=True)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._emit(final=True)
