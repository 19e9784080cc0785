"""Running the vividtalk engine out of process (no bpy here, so it is testable anywhere).

Blender never imports the engine: it starts ``python -m inference ...`` in the engine's own environment,
reads its JSON-lines progress on a worker thread and hands events to the main thread through a queue.
A crash in the engine cannot take Blender down, Esc cancels the command (the engine exits with 130),
and GPU memory goes back when the process ends. Arguments are lists, never shell strings. One engine process
is kept warm between jobs (``WarmEngine``), so a second Generate on a short line returns in well under a
second.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import queue
import shutil
import signal
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
    """Look at every interpreter afresh (after the preferences' button installed or replaced one), and start
    its engine afresh."""
    _checked.clear()
    stop_warm_engines()


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
    """Runs engine steps (``python -m inference ...``) one after another: on the warm engine when it is free
    (``warm=True``, the default), else each in a fresh process."""

    thread_name = "vividtalk-engine"

    def __init__(self, python: str, steps: list[Step], warm: bool = True):
        super().__init__()
        self.python = python
        self.steps = steps
        self.warm = warm
        self._engine: WarmEngine | None = None

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

    def cancel(self) -> None:
        super().cancel()
        engine = self._engine
        if engine is not None:
            engine.interrupt()

    def _run_step(self, step: Step, base: float, share: float) -> dict | None:
        engine = warm_engine(self.python) if self.warm else None
        if engine is not None and engine.lock.acquire(blocking=False):  # busy with another job: a fresh process
            try:
                self._engine = engine
                return self._run_warm(engine, step, base, share)
            finally:
                self._engine = None
                engine.lock.release()
        return self._run_cold(step, base, share)

    def _run_warm(self, engine: WarmEngine, step: Step, base: float, share: float) -> dict | None:
        reader = _StepReader(self.events, step, base, share)
        try:
            code = engine.run(step.args, reader.take)
        except OSError as e:
            self.events.put(Event("error", message=f"Could not start the engine ({self.python}): {e}."))
            return None
        except EngineStopped as e:
            if self._cancel.is_set():
                self.events.put(Event("cancelled", message="Cancelled."))
            else:
                self.events.put(Event("error", message=f"{step.label} failed: the engine stopped ({e})."))
            return None
        return reader.finish(code, self._cancel.is_set(), engine.stderr_tail())

    def _run_cold(self, step: Step, base: float, share: float) -> dict | None:
        argv = [self.python, "-m", "inference", *step.args, "--progress", "json"]
        try:
            self._process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                             encoding="utf-8", errors="replace", env=_engine_env())
        except OSError as e:
            self.events.put(Event("error", message=f"Could not start the engine ({self.python}): {e}."))
            return None
        stderr_tail: list[str] = []
        drain = threading.Thread(target=_tail, args=(self._process.stderr, stderr_tail), daemon=True)
        drain.start()
        reader = _StepReader(self.events, step, base, share)
        for line in self._process.stdout:
            reader.take(line)
        code = self._process.wait()
        drain.join(timeout=5)
        return reader.finish(code, self._cancel.is_set(), stderr_tail)


class _StepReader:
    """One step's JSON-lines events turned into Events (progress scaled into the job's bar), and its outcome."""

    def __init__(self, events: queue.SimpleQueue, step: Step, base: float, share: float) -> None:
        self.events, self.step, self.base, self.share = events, step, base, share
        self.result: dict = {}
        self.error = ""

    def take(self, line: str) -> None:
        try:
            msg = json.loads(line)
        except json.JSONDecodeError:
            return
        kind = msg.get("event") if isinstance(msg, dict) else None
        if kind == "progress":
            self.events.put(Event("progress", self.base + self.share * float(msg.get("fraction", 0)),
                                  f"{self.step.label}: {msg.get('stage', '')}"))
        elif kind == "warning":
            self.events.put(Event("warning", message=str(msg.get("message", ""))))
        elif kind == "result":
            self.result = msg
        elif kind == "error":
            self.error = str(msg.get("message", ""))

    def finish(self, code: int, cancelled: bool, stderr_tail: list[str]) -> dict | None:
        if cancelled or code == 130:
            self.events.put(Event("cancelled", message="Cancelled."))
            return None
        if code != 0:
            detail = self.error or "".join(stderr_tail[-5:]).strip() or f"exit code {code}"
            self.events.put(Event("error", message=f"{self.step.label} failed: {detail}"))
            return None
        return self.result


def _engine_env() -> dict[str, str]:
    return dict(os.environ, PYTHONIOENCODING="utf-8", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")


class EngineStopped(Exception):
    """The warm engine's process ended in the middle of a command."""


class WarmEngine:
    """One ``python -m inference serve`` kept running between jobs (inference/serve.py), so a second Generate
    pays neither Python's start, nor the engine's imports, nor its decoders' loading. Started by the first job
    that needs it (on that job's thread, never the UI's), stopped with Blender, when the add-on is disabled,
    or when it misbehaves (the next job starts a fresh one). One job at a time uses it (``lock``)."""

    def __init__(self, python: str) -> None:
        self.python = python
        self.lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._stderr: list[str] = []
        self._next_id = 0

    def run(self, args: list[str], on_line) -> int:
        """Run one command; every line it writes goes to ``on_line``; returns its exit code."""
        process = self._started()
        self._next_id += 1
        request = json.dumps({"id": self._next_id, "args": list(args)}) + "\n"
        try:
            process.stdin.write(request)
            process.stdin.flush()
        except (OSError, ValueError) as e:
            self.stop()
            raise EngineStopped(str(e) or "its input closed") from None
        for line in process.stdout:
            try:
                msg = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(msg, dict) and msg.get("event") == "exit" and msg.get("id") == self._next_id:
                return int(msg.get("code", 1))
            on_line(line)
        tail = "".join(self._stderr[-5:]).strip()
        self.stop()
        raise EngineStopped(tail or "no message")

    def interrupt(self) -> None:
        """Cancel the running command (the engine answers with exit code 130 and stays up)."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        if os.name == "posix":
            with contextlib.suppress(OSError):
                os.kill(process.pid, signal.SIGINT)
        else:  # no SIGINT for a child on Windows: stop it; the next job starts a fresh one
            self.stop()

    def stderr_tail(self) -> list[str]:
        return list(self._stderr)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(OSError, ValueError):
            process.stdin.close()
        if process.poll() is None:
            process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)
        if process.poll() is None:
            process.kill()

    def _started(self) -> subprocess.Popen:
        if self._process is not None and self._process.poll() is None:
            return self._process
        self._stderr = []
        process = subprocess.Popen([self.python, "-m", "inference", "serve"], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
                                   errors="replace", env=_engine_env())
        threading.Thread(target=_tail, args=(process.stderr, self._stderr), daemon=True).start()
        ready = process.stdout.readline()
        if '"ready"' not in ready:
            process.kill()
            raise EngineStopped("".join(self._stderr[-5:]).strip() or "it did not start")
        self._process = process
        return process


_warm: dict[str, WarmEngine] = {}
_warm_lock = threading.Lock()


def warm_engine(python: str) -> WarmEngine:
    """The warm engine of this interpreter (only one is kept: another interpreter's is stopped)."""
    with _warm_lock:
        for other in [p for p in _warm if p != python]:
            _warm.pop(other).stop()
        if python not in _warm:
            _warm[python] = WarmEngine(python)
        return _warm[python]


def stop_warm_engines() -> None:
    """Blender quits, the add-on is disabled, or the engine was reinstalled."""
    with _warm_lock:
        engines = list(_warm.values())
        _warm.clear()
    for engine in engines:
        engine.stop()


atexit.register(stop_warm_engines)


def _tail(stream, sink: list[str], keep: int = 50) -> None:
    for line in stream:
        sink.append(line)
        del sink[:-keep]

