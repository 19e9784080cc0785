"""Running the vividtalk engine out of process (no bpy here, so it is testable anywhere).

Blender never imports the engine: it starts ``python -m inference ...`` in the engine's own environment,
reads its JSON-lines progress on a worker thread and hands events to the main thread through a queue.
A crash in the engine cannot take Blender down, Esc terminates the process (the engine exits with 130),
and GPU memory goes back when the process ends. Arguments are lists, never shell strings.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

ENV_VAR = "VIVIDTALK_ENGINE_PYTHON"


@dataclass
class Step:
    """One engine command: its CLI arguments (after ``python -m inference``), a label and its share of the bar."""

    args: list[str]
    label: str
    weight: float = 1.0


@dataclass
class Event:
    kind: str  # "progress", "warning", "done", "error", "cancelled"
    fraction: float = 0.0
    message: str = ""
    results: list[dict] = field(default_factory=list)


def find_engine_python(preference: str = "") -> tuple[str | None, str]:
    """The interpreter that has the engine, and where it came from (or why none was found).

    A preference the user set is the answer or the error: it is never silently replaced by another engine.
    Without one: $VIVIDTALK_ENGINE_PYTHON, the engine environment the preferences' button made, the vividtalk
    command on PATH, a development checkout's .venv."""
    if preference:
        path = Path(preference).expanduser()
        if not path.exists():
            return None, (f"The engine Python set in the add-on preferences, '{preference}', does not exist. Fix "
                          "the path, or clear it to detect the engine automatically.")
        if path.is_dir() or not os.access(path, os.X_OK):
            return None, (f"The engine Python set in the add-on preferences, '{preference}', is not a program; "
                          "point it at …/bin/python of the engine's environment.")
        if not _has_engine(str(path)):
            return None, (f"The Python set in the add-on preferences, '{preference}', has no vividtalk engine. "
                          "Press 'Install the engine' in the preferences, or point it at the engine's Python.")
        return str(path), "add-on preferences"
    candidates: list[tuple[str, str]] = []
    if os.environ.get(ENV_VAR):
        candidates.append((os.environ[ENV_VAR], f"${ENV_VAR}"))
    managed = managed_engine_python()
    if managed.exists():
        candidates.append((str(managed), "the engine the preferences' button installed"))
    exe = shutil.which("vividtalk")
    if exe:
        shebang = Path(exe).read_bytes()[:200].split(b"\n")[0]
        if shebang.startswith(b"#!"):
            candidates.append((shebang[2:].decode(errors="replace").strip(), "the vividtalk command on PATH"))
    for root in Path(__file__).resolve().parents:
        if (root / "inference" / "cli.py").exists():  # a development checkout
            candidates.append((str(root / ".venv" / "bin" / "python"), "the checkout's .venv"))
            break
    for path, origin in candidates:
        if _has_engine(path):
            return path, origin
    tried = ", ".join(origin for _, origin in candidates) or "nothing"
    return None, (f"No Python with the vividtalk engine found (tried {tried}). Press 'Install the engine' in the "
                  "add-on preferences, or set the engine's interpreter there (…/vividtalk/.venv/bin/python).")


def managed_engine_python() -> Path:
    """Where the preferences' 'Install the engine' button puts the engine's interpreter."""
    from .engine_install import engine_env_dir

    return engine_env_dir() / "bin" / "python"


_checked: dict[str, bool] = {}


def forget_checks() -> None:
    """Look at every interpreter afresh (after the preferences' button installed or replaced one)."""
    _checked.clear()


def _has_engine(python: str) -> bool:
    if python not in _checked:
        try:
            run = subprocess.run([python, "-c", "import inference.cli; print('vividtalk engine')"],
                                 capture_output=True, text=True, timeout=60)
            _checked[python] = run.returncode == 0 and run.stdout.strip() == "vividtalk engine"
        except (OSError, subprocess.SubprocessError):
            _checked[python] = False
    return _checked[python]


class BackgroundJob:
    """Subprocesses run one after another on a thread, reporting Events through ``events``; ``start()`` returns
    at once (the UI polls the queue on a timer), ``run()`` blocks (scripts, background mode). ``cancel()``
    terminates the running process."""

    thread_name = "vividtalk-job"

    def __init__(self) -> None:
        self.events: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self._cancel = threading.Event()
        self._process: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None

    def run(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name=self.thread_name, daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        self._cancel.set()
        proc = self._process
        if proc and proc.poll() is None:
            proc.terminate()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def outcome(self) -> tuple[Event | None, list[str]]:
        """After ``run()``: the final event ("done", "error", "cancelled") and the warnings on the way."""
        warnings, last = [], None
        while not self.events.empty():
            ev = self.events.get()
            if ev.kind == "warning":
                warnings.append(ev.message)
            elif ev.kind != "progress":
                last = ev
        return last, warnings


class EngineJob(BackgroundJob):
    """Runs engine steps (``python -m inference ...``) one after another."""

    thread_name = "vividtalk-engine"

    def __init__(self, python: str, steps: list[Step]):
        super().__init__()
        self.python = python
        self.steps = steps

    def run(self) -> None:
        total = sum(s.weight for s in self.steps) or 1.0
        done, results = 0.0, []
        for step in self.steps:
            if self._cancel.is_set():
                self.events.put(Event("cancelled", message="Cancelled."))
                return
            outcome = self._run_step(step, done / total, step.weight / total)
            if outcome is None:
                return
            results.append(outcome)
            done += step.weight
        self.events.put(Event("done", 1.0, "Done.", results))

    def _run_step(self, step: Step, base: float, share: float) -> dict | None:
        argv = [self.python, "-m", "inference", *step.args, "--progress", "json"]
        env = dict(os.environ, PYTHONIOENCODING="utf-8", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
        try:
            self._process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                             encoding="utf-8", errors="replace", env=env)
        except OSError as e:
            self.events.put(Event("error", message=f"Could not start the engine ({self.python}): {e}."))
            return None
        result, error = {}, ""
        stderr_tail: list[str] = []
        drain = threading.Thread(target=_tail, args=(self._process.stderr, stderr_tail), daemon=True)
        drain.start()
        for line in self._process.stdout:
            try:
                msg = json.loads(line)
            except json.JSONDecodeError:
                continue
            kind = msg.get("event")
            if kind == "progress":
                self.events.put(Event("progress", base + share * float(msg.get("fraction", 0)),
                                      f"{step.label}: {msg.get('stage', '')}"))
            elif kind == "warning":
                self.events.put(Event("warning", message=str(msg.get("message", ""))))
            elif kind == "result":
                result = msg
            elif kind == "error":
                error = str(msg.get("message", ""))
        code = self._process.wait()
        drain.join(timeout=5)
        if self._cancel.is_set() or code == 130:
            self.events.put(Event("cancelled", message="Cancelled."))
            return None
        if code != 0:
            detail = error or "".join(stderr_tail[-5:]).strip() or f"exit code {code}"
            self.events.put(Event("error", message=f"{step.label} failed: {detail}"))
            return None
        return result


def _tail(stream, sink: list[str], keep: int = 50) -> None:
    for line in stream:
        sink.append(line)
        del sink[:-keep]

