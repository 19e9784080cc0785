"""The FBX and .blend outputs of a batch: made in Blender (the ``bpy`` module) by the extension's own operators,
the way an animator gets them (tools/blender_batch.py ``--jobs``): a fresh scene per line, Generate onto the head
built from the line's photo (or the built-in head), Export FBX, the .blend saved.

One Blender process takes the lines one after another (Blender is one thread); its add-on keeps the engine warm.
A Blender process that dies costs the line it held, which gets one more try in a fresh one.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from ..errors import VividtalkError
from .line_job import DONE, FAILED, LineResult, exit_class, transcript_of
from .manifest import BatchLine

BLENDER_OUTPUTS = ("fbx", "blend")
SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "blender_batch.py"
JOB_KEY = "vividtalk_job"


def missing_blender() -> str | None:
    """Why FBX and .blend outputs cannot be made here, or None."""
    if importlib.util.find_spec("bpy") is None:
        return ("FBX and .blend outputs need Blender's Python module, which is not installed with this engine "
                "(bash install.sh installs it; or use the add-on's Export FBX).")
    if not SCRIPT.is_file():
        return f"FBX and .blend outputs need {SCRIPT.name} from a vividtalk checkout, which is not here."
    return None


def run_blender_pass(lines: list[BatchLine], defaults: dict[str, Any], preset: str, record) -> None:
    """FBX/.blend for each line; ``record(line, result)`` as each finishes."""
    problem = missing_blender()
    if problem:
        for line in lines:
            record(line, LineResult(line.number, line.label, FAILED, "bad_input", problem))
        return
    blender: _Blender | None = None
    tries: dict[int, int] = {}
    queue = list(reversed(lines))
    try:
        while queue:
            line = queue.pop()
            try:
                job = _job(line, defaults, preset)
            except VividtalkError as e:
                record(line, LineResult(line.number, line.label, FAILED, exit_class(e.exit_code), str(e)))
                continue
            blender = blender or _Blender()
            answer = blender.ask(job)
            if answer is None:  # Blender died on this line
                last = blender.stderr[-1] if blender.stderr else "no message"
                blender.close()
                blender = None
                tries[line.number] = tries.get(line.number, 0) + 1
                if tries[line.number] < 2:
                    queue.append(line)
                    continue
                answer = {"ok": False, "message": f"Blender stopped on this line twice (last message: {last})"}
            status = DONE if answer["ok"] else FAILED
            record(line, LineResult(line.number, line.label, status, "" if answer["ok"] else "bad_input",
                                    answer.get("message", "")))
    finally:
        if blender is not None:
            blender.close()


def _job(line: BatchLine, defaults: dict[str, Any], preset: str) -> dict[str, Any]:
    from ..contract import contract

    options = {name: (defaults | line.options)[name] for name in contract()["animate_options"]}
    # the line's rig is a photo or a rig file (as for its video); the head in Blender is shaped from a photo only
    photo = str(line.rig) if line.rig and line.rig.suffix.lower() != ".npz" else ""
    return {"id": line.number, "audio": str(line.voice.resolve()), "transcript": transcript_of(line) or "",
            "options": options, "portrait": photo, "preset": preset,
            "head_from": str(line.head_from.resolve()) if line.head_from else "",
            **{kind: str(line.outputs[kind].resolve()) if kind in line.outputs else "" for kind in BLENDER_OUTPUTS}}


class _Blender:
    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, str(SCRIPT), "--jobs"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
                                        errors="replace")
        process = self.process
        assert process.stdin is not None and process.stdout is not None and process.stderr is not None  # pipes
        self._jobs, self._answers, self._messages = process.stdin, process.stdout, process.stderr
        self.stderr: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        for line in self._messages:
            if line.strip():
                self.stderr = [*self.stderr[-19:], line.strip()]

    def ask(self, job: dict[str, Any]) -> dict[str, Any] | None:
        try:
            self._jobs.write(json.dumps(job) + "\n")
            self._jobs.flush()
        except (OSError, ValueError):
            return None
        for raw in self._answers:
            if JOB_KEY in raw:
                try:
                    answer = json.loads(raw)
                except ValueError:
                    continue
                if answer.get(JOB_KEY) == job["id"]:
                    return answer
        return None

    def close(self) -> None:
        try:
            self._jobs.close()
            self.process.wait(timeout=60)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            self.process.kill()
