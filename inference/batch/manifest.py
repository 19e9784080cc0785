"""A batch manifest: one voice line per row of a CSV file (with a header) or per line of JSON lines.

Columns (CSV) or keys (JSON lines):
- ``audio``: the recording (required);
- ``transcript``: what is said, as text or as a ``.txt`` file; empty for recognition;
- ``lang`` and any other animate option by its long name (``mouth_gain``, ``head_gain``, ``emotion``, ``seed``,
  ...; a hyphen works as well as the underscore); empty takes the batch's default;
- ``rig``: for videos, a portrait photo or a rig file from ``vividtalk rig`` (default: the built-in face),
  and ``size``, ``background`` and ``mouth`` as ``vividtalk render`` takes them;
- ``head_from``: a video of a speaker whose head motion the line takes in style (as ``--head-from``; learned
  once per video and worker), or a head style saved by ``vividtalk head-style`` (.npz);
- one path per wanted output: ``clip`` (motion clip .json), ``csv`` (Live Link Face curves), ``mp4`` (the
  talking-head video), ``fbx`` and ``blend`` (the head from the ``rig`` photo, or the built-in one, keyed in
  Blender); empty when not wanted.
Relative paths are relative to the manifest's folder. A problem with one line (a missing file, a value out of
range) is that line's failure; a problem with the manifest itself (unreadable, no ``audio`` column, an unknown
column, two lines writing one file) stops the batch before any work.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..contract import contract, parse_option
from ..errors import InputError

if TYPE_CHECKING:
    from ..motion.head_codebook import HeadStyleModel

OUTPUTS = ("clip", "csv", "mp4", "fbx", "blend")
"""What a line can ask for (FBX and .blend files are made in Blender's Python module: blender_pass.py)."""
INPUTS = ("audio", "transcript", "rig", "head_from")
VIDEO_OPTIONS = ("size", "background", "mouth")
"""The render options a line may set for its video."""
MAX_MANIFEST_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class BatchLine:
    """One voice line to do. ``number`` is the line of the manifest it starts on (as an editor counts);
    ``problem`` says why it cannot be done, found while reading it."""

    number: int
    audio: Path | None
    transcript: str | None = None
    transcript_file: Path | None = None
    options: dict[str, Any] = field(default_factory=dict)
    rig: Path | None = None
    outputs: dict[str, Path] = field(default_factory=dict)
    problem: str | None = None
    recorded_audio: str | None = None
    """The audio path the clip records, where the line runs on a copy of its file (a cluster worker)."""
    head_from: Path | None = None
    head_style: HeadStyleModel | None = None
    """A head style already learned from ``head_from`` (a cluster task gets it from the driver)."""

    @property
    def input_files(self) -> list[Path]:
        return [p for p in (self.audio, self.transcript_file, self.rig, self.head_from) if p is not None]

    @property
    def voice(self) -> Path:
        """The line's audio file; only lines that name one are run (the others are reported with their problem)."""
        if self.audio is None:
            raise InputError(f"Line {self.number} names no audio file.")
        return self.audio

    @property
    def label(self) -> str:
        return str(self.audio) if self.audio else f"line {self.number}"


def read_manifest(path: str | os.PathLike) -> list[BatchLine]:
    """Every line of the manifest (CSV with a header, or JSON lines: ``.jsonl``/``.ndjson``, or a file whose
    first character is ``{``)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"The manifest '{path}' {'is a folder' if path.is_dir() else 'does not exist'}; give a "
                         "CSV file with a header row (audio, transcript, clip, ...) or a JSON-lines file.")
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise InputError(f"The manifest '{path}' is over {MAX_MANIFEST_BYTES >> 20} MB; split it into several.")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(f"The manifest '{path}' is not UTF-8 text ({e.reason} at byte {e.start}); save it as "
                         "UTF-8.") from None
    json_lines = path.suffix.lower() in (".jsonl", ".ndjson") or text.lstrip().startswith("{")
    rows = _json_rows(text, path) if json_lines else _csv_rows(text, path)
    if not rows:
        raise InputError(f"The manifest '{path}' holds no lines to do.")
    lines = [_line(number, row, path.parent.resolve()) for number, row in rows]
    _refuse_shared_outputs(lines, path)
    return lines


def _csv_rows(text: str, path: Path) -> list[tuple[int, dict[str, str]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            return []
        header = [_column(h) for h in header]
        _check_columns(header, path)
        rows = []
        start = reader.line_num + 1
        for cells in reader:
            if any(c.strip() for c in cells):
                if len(cells) > len(header):
                    rows.append((start, {"__problem__": f"{len(cells)} cells for {len(header)} columns"}))
                else:
                    rows.append((start, dict(zip(header, cells, strict=False))))
            start = reader.line_num + 1
    except csv.Error as e:
        raise InputError(f"The manifest '{path}' is not valid CSV near line {reader.line_num}: {e}.") from None
    return rows


def _json_rows(text: str, path: Path) -> list[tuple[int, dict[str, str]]]:
    rows = []
    seen_keys: set[str] = set()
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw, parse_constant=_refuse_constant)
        except ValueError as e:
            rows.append((number, {"__problem__": f"not a JSON object ({e})"}))
            continue
        if not isinstance(obj, dict):
            rows.append((number, {"__problem__": "not a JSON object"}))
            continue
        row = {_column(k): "" if v is None else (json.dumps(v) if isinstance(v, (dict, list)) else str(v))
               for k, v in obj.items()}
        seen_keys |= set(row)
        rows.append((number, row))
    _check_columns(sorted(seen_keys) or ["audio"], path)
    return rows


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number")


def _column(name: str) -> str:
    return str(name).strip().lower().replace("-", "_")


def _known_columns() -> set[str]:
    return (set(INPUTS) | set(OUTPUTS) | set(contract()["animate_options"]) | set(contract()["engine_options"])
            | set(VIDEO_OPTIONS))


def _check_columns(columns: list[str], path: Path) -> None:
    unknown = [c for c in columns if c and c not in _known_columns()]
    if unknown:
        raise InputError(f"The manifest '{path}' has unknown column(s) {', '.join(repr(c) for c in unknown)}; the "
                         f"columns are {', '.join(sorted(_known_columns()))}.")
    if "audio" not in columns:
        raise InputError(f"The manifest '{path}' has no 'audio' column; its first row must name the columns "
                         "(audio, transcript, lang, clip, csv, mp4, ...).")


def _line(number: int, row: dict[str, str], base: Path) -> BatchLine:
    if "__problem__" in row:
        return BatchLine(number, None, problem=f"line {number} of the manifest is damaged: {row['__problem__']}.")
    cell = {k: (v or "").strip() for k, v in row.items()}
    problems = []
    audio = _path(cell.get("audio"), base)
    if audio is None:
        problems.append("no audio file")
    transcript, transcript_file = cell.get("transcript") or None, None
    if transcript and transcript.lower().endswith(".txt") and "\n" not in transcript:
        transcript_file, transcript = _path(transcript, base), None
    options = {}
    for group, names in (("animate_options", tuple(contract()["animate_options"])),
                         ("engine_options", tuple(contract()["engine_options"])), ("render_options", VIDEO_OPTIONS)):
        for name in names:
            if cell.get(name):
                if contract()[group][name]["type"] == "path":  # a model folder, relative to the manifest
                    options[name] = str(_path(cell[name], base))
                    continue
                try:
                    options[name] = parse_option(group, name, cell[name])
                except ValueError as e:
                    problems.append(str(e))
    outputs = {kind: p for kind in OUTPUTS if (p := _path(cell.get(kind), base)) is not None}
    if not outputs:
        problems.append(f"no output asked for (fill one of {', '.join(OUTPUTS)})")
    inputs = {p.resolve() for p in (audio, transcript_file) if p is not None}
    problems += [f"its {kind} output '{p}' is one of its inputs" for kind, p in outputs.items()
                 if p.resolve() in inputs]
    return BatchLine(number, audio, transcript, transcript_file, options, _path(cell.get("rig"), base), outputs,
                     head_from=_path(cell.get("head_from"), base),
                     problem="; ".join(problems) + "." if problems else None)


def _path(text: str | None, base: Path) -> Path | None:
    if not text:
        return None
    p = Path(os.path.expanduser(text))
    return p if p.is_absolute() else base / p


def _refuse_shared_outputs(lines: list[BatchLine], path: Path) -> None:
    writers: dict[Path, int] = {}
    for line in lines:
        for out in line.outputs.values():
            key = out.resolve()
            if key in writers:
                raise InputError(f"Lines {writers[key]} and {line.number} of '{path}' both write '{out}'; give each "
                                 "line its own output files.")
            writers[key] = line.number
