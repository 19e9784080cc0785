"""Progress reporting: JSON lines for the add-on, a one-line bar on a terminal, or nothing.

JSON-lines protocol (one object per line on stdout, see docs/formats.md):
``{"event": "progress", "stage": "align", "fraction": 0.42, "message": "..."}``,
``{"event": "warning", "message": "..."}``, ``{"event": "result", ...}``, ``{"event": "error", ...}``.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from typing import TextIO


@dataclass
class Progress:
    """Reports job progress; ``mode`` is 'json', 'bar' or 'quiet'. Warnings are also collected."""

    mode: str = "quiet"
    stream: TextIO = field(default_factory=lambda: sys.stderr)
    warnings: list[str] = field(default_factory=list)
    echo_warnings: bool = True
    """False only where someone else reports the collected warnings (a batch worker's, with the line's number)."""
    _last_draw: float = 0.0

    @classmethod
    def for_cli(cls, requested: str) -> Progress:
        if requested == "auto":
            requested = "bar" if sys.stderr.isatty() else "quiet"
        return cls(mode=requested, stream=sys.stdout if requested == "json" else sys.stderr)

    def update(self, stage: str, fraction: float, message: str = "") -> None:
        fraction = min(max(float(fraction), 0.0), 1.0)
        if self.mode == "json":
            self._emit({"event": "progress", "stage": stage, "fraction": round(fraction, 4), "message": message})
        elif self.mode == "bar":
            now = time.monotonic()
            if fraction < 1.0 and now - self._last_draw < 0.1:
                return
            self._last_draw = now
            filled = round(fraction * 30)
            bar = "#" * filled + "." * (30 - filled)
            self.stream.write(f"\r{stage:>10s} [{bar}] {fraction:4.0%} {message[:40]:40s}")
            if fraction >= 1.0:
                self.stream.write("\n")
            self.stream.flush()

    def warn(self, message: str) -> None:
        """Warnings always reach stderr (pipes, CI and batch logs included), and the JSON stream as well."""
        self.warnings.append(message)
        if not self.echo_warnings:
            return
        if self.mode == "json":
            self._emit({"event": "warning", "message": message})
        prefix = "\n" if self.mode == "bar" else ""
        sys.stderr.write(f"{prefix}vividtalk: warning: {message}\n")
        sys.stderr.flush()

    def result(self, **payload) -> None:
        if self.mode == "json":
            self._emit({"event": "result", **payload})

    def error(self, message: str, code: int) -> None:
        if self.mode == "json":
            self._emit({"event": "error", "message": message, "exit_code": code})

    def _emit(self, obj: dict) -> None:
        self.stream.write(json.dumps(obj, ensure_ascii=False) + "\n")
        self.stream.flush()
