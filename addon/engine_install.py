"""Creating the engine's environment from inside Blender: no terminal needed (no bpy here, testable anywhere).

The extension carries the engine's source (``engine_src/``, put there by tools/build_extension.py). The
preferences' button makes a virtual environment in the extension's user folder with a Python 3.11 (Blender's
own where it is 3.11, else one found on the machine: the engine's pinned wheels are cp311), pip-installs the
engine into it from a private copy of that source, and then mediapipe without its heavy declared dependencies
(as install.sh does). Each step is a subprocess with an argument list; cancel terminates it; a failed or
cancelled install removes the half-made environment and leaves any earlier working one in place.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .engine import BackgroundJob, Event

ENGINE_SOURCE = Path(__file__).with_name("engine_src")
ENGINE_PYTHON_VERSION = (3, 11)
MEDIAPIPE = "mediapipe==0.10.21"  # the last release with the bundled face-mesh model (see pyproject.toml)
_user_dir: Path | None = None


def set_user_dir(path: str | os.PathLike) -> None:
    """The extension's writable user folder (Blender's extension_path_user), set at registration."""
    global _user_dir
    _user_dir = Path(path)


def engine_env_dir() -> Path:
    return (_user_dir or Path.home() / ".vividtalk") / "engine"


def python_candidates() -> list[str]:
    """Interpreters that may be a Python 3.11, best first: Blender's own, then the machine's."""
    found = [sys.executable]
    for name in ("python3.11", "python3", "python"):
        exe = shutil.which(name)
        if exe:
            found.append(exe)
    found += sorted(str(p) for p in Path.home().glob(".pyenv/versions/3.11*/bin/python3.11"))
    found += ["/usr/bin/python3.11", "/usr/local/bin/python3.11", "/opt/homebrew/bin/python3.11"]
    return list(dict.fromkeys(found))


def find_base_python() -> tuple[str | None, str]:
    """A Python 3.11 with venv, or None and what the user should do."""
    wanted = ".".join(map(str, ENGINE_PYTHON_VERSION))
    for exe in python_candidates():
        if not Path(exe).is_file():
            continue
        try:
            run = subprocess.run([exe, "-c", "import sys, venv; print(sys.version_info[:2] == (3, 11))"],
                                 capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            continue
        if run.returncode == 0 and run.stdout.strip() == "True":
            return exe, f"Python {wanted} at {exe}"
    return None, (f"The engine needs Python {wanted} (with venv), and none was found on this machine. Install it "
                  f"(Debian/Ubuntu: apt install python{wanted} python{wanted}-venv; macOS/Windows: python.org), "
                  "then press the button again.")


@dataclass
class InstallStep:
    args: list[str]
    label: str
    weight: float


def install_steps(base_python: str, env_dir: Path, source: Path) -> list[InstallStep]:
    python = str(env_dir / "bin" / "python")
    return [
        InstallStep([base_python, "-m", "venv", str(env_dir)], "Creating the environment", 0.05),
        InstallStep([python, "-m", "pip", "install", "--upgrade", "pip"], "Updating pip", 0.1),
        InstallStep([python, "-m", "pip", "install", "--progress-bar", "off", str(source)],
                    "Installing the engine and its libraries", 0.7),
        InstallStep([python, "-m", "pip", "install", "--progress-bar", "off", "--no-deps", MEDIAPIPE],
                    "Installing MediaPipe", 0.15),
    ]


_PIP_ACTIVITY = re.compile(r"^(Collecting|Downloading|Using cached|Building|Installing collected|Successfully)")


class EngineInstaller(BackgroundJob):
    """Runs the install steps; posts Events ("progress", "done", "error", "cancelled")."""

    thread_name = "vividtalk-engine-install"

    def __init__(self, env_dir: Path | None = None, source: Path = ENGINE_SOURCE):
        super().__init__()
        self.env_dir = env_dir or engine_env_dir()
        self.source = source

    def run(self) -> None:
        base, why = find_base_python()
        if base is None:
            self.events.put(Event("error", message=why))
            return
        if not (self.source / "pyproject.toml").is_file():
            self.events.put(Event("error", message="This build of the extension carries no engine source; "
                                                   "install the engine with install.sh instead."))
            return
        staging = self.env_dir.with_name(self.env_dir.name + ".new")
        shutil.rmtree(staging, ignore_errors=True)  # a leftover of an earlier interrupted install of ours
        with tempfile.TemporaryDirectory(prefix="vividtalk_engine_src_") as tmp:
            source = Path(tmp) / "vividtalk"
            shutil.copytree(self.source, source)  # pip may write build files beside the source
            outcome = self._run_steps(install_steps(base, staging, source))
        if outcome.kind != "done":
            shutil.rmtree(staging, ignore_errors=True)
            self.events.put(outcome)
            return
        # the new environment replaces the old one only once it is complete (venvs hold absolute paths, so
        # it is created where it will live: rename the old one away first)
        old = self.env_dir.with_name(self.env_dir.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if self.env_dir.exists():
            self.env_dir.rename(old)
        self._rebuild_in_place(staging)
        shutil.rmtree(old, ignore_errors=True)
        self.events.put(outcome)

    def _rebuild_in_place(self, staging: Path) -> None:
        """Move the finished environment to its final folder and fix the paths a venv records."""
        staging.rename(self.env_dir)
        for script in (self.env_dir / "bin").iterdir():
            if script.is_file() and not script.is_symlink():
                try:
                    text = script.read_text(encoding="utf-8")
                except (UnicodeDecodeError, OSError):
                    continue
                if str(staging) in text:
                    script.write_text(text.replace(str(staging), str(self.env_dir)), encoding="utf-8")
        config = self.env_dir / "pyvenv.cfg"
        if config.exists():
            config.write_text(config.read_text(encoding="utf-8").replace(str(staging), str(self.env_dir)),
                              encoding="utf-8")

    def _run_steps(self, steps: list[InstallStep]) -> Event:
        total = sum(s.weight for s in steps)
        done = 0.0
        for step in steps:
            if self._cancel.is_set():
                return Event("cancelled", message="Cancelled; the engine was not installed.")
            self.events.put(Event("progress", done / total, step.label))
            tail: list[str] = []
            try:
                self._process = subprocess.Popen(step.args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                                 text=True, encoding="utf-8", errors="replace",
                                                 env=dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1"))
            except OSError as e:
                return Event("error", message=f"{step.label} failed: {e}.")
            lines = 0
            for line in self._process.stdout:
                tail = [*tail, line.rstrip()][-8:]
                if _PIP_ACTIVITY.match(line):
                    lines += 1  # pip names each package: creep toward the step's end without knowing how many
                    fraction = (done + step.weight * (1 - 1 / (1 + lines / 20))) / total
                    self.events.put(Event("progress", fraction, f"{step.label}: {line.strip()[:60]}"))
            code = self._process.wait()
            if self._cancel.is_set():
                return Event("cancelled", message="Cancelled; the engine was not installed.")
            if code != 0:
                detail = next((t for t in reversed(tail) if "error" in t.lower()), tail[-1] if tail else "")
                return Event("error", message=f"{step.label} failed (exit code {code}): {detail}. Check the "
                                              "network connection and the free disk space, then try again.")
            done += step.weight
        return Event("done", 1.0, f"The engine is installed in {self.env_dir}.")
