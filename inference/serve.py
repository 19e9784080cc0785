"""``vividtalk serve``: one engine process kept warm for a client that runs command after command (the Blender
add-on), so each command pays neither Python's start nor the engine's imports nor its decoders' loading again.

Protocol, JSON lines: the server first writes ``{"event": "ready", "version": ...}``. Each request is one line
``{"id": ..., "args": ["animate", "line.wav", "-o", "clip.json", ...]}`` (what follows ``vividtalk`` on a command
line); the server runs it exactly as the command line would, with ``--progress json``, so the command's own
progress, warning, result and error events follow, then ``{"event": "exit", "id": ..., "code": N}`` with the
command's exit code. SIGINT cancels the running command (exit code 130) and is ignored between commands; the
server ends at the end of its input, or on SIGTERM.
"""

from __future__ import annotations

import contextlib
import io
import json
import signal
import sys
import traceback
from collections.abc import Callable
from typing import TextIO

from . import __version__


def serve(run: Callable[[list[str]], int], stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    """Answer requests from ``stdin`` with ``run(argv) -> exit code`` (the command line's ``main``)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a cancel that arrives between commands cancels nothing
    _emit(stdout, {"event": "ready", "version": __version__})
    for line in stdin:
        if not line.strip():
            continue
        request_id, argv, problem = _request(line)
        if problem:
            _emit(stdout, {"event": "error", "message": problem, "exit_code": 2})
            code = 2
        else:
            code = _run(run, argv, stdout)
        _emit(stdout, {"event": "exit", "id": request_id, "code": code})
    return 0


def _request(line: str) -> tuple[object, list[str], str]:
    try:
        request = json.loads(line)
    except ValueError as e:
        return None, [], f"A request must be one JSON object per line ({e})."
    if not isinstance(request, dict):
        return None, [], "A request must be a JSON object with 'args'."
    args = request.get("args")
    if not isinstance(args, list) or not args or not all(isinstance(a, str) for a in args):
        return request.get("id"), [], "A request's 'args' must be a non-empty list of strings (a command line)."
    if args[0] == "serve":
        return request.get("id"), [], "'serve' cannot be run inside the server."
    return request.get("id"), args, ""


def _run(run: Callable[[list[str]], int], argv: list[str], stdout: TextIO) -> int:
    said = _Tee(sys.stderr)
    try:
        with contextlib.redirect_stderr(said):
            return run([*argv, "--progress", "json"])
    except SystemExit as e:  # argparse refused an option: its message is the last line it wrote
        code = e.code if isinstance(e.code, int) else 2
        last = said.last_line() or f"the command line '{' '.join(argv)}' is not valid"
        _emit(stdout, {"event": "error", "message": last.removeprefix("vividtalk ").strip(), "exit_code": code})
        return code
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # a bug in one command must not end the server
        traceback.print_exc(file=sys.stderr)
        _emit(stdout, {"event": "error", "message": f"Internal error: {type(e).__name__}: {e}", "exit_code": 1})
        return 1


class _Tee(io.TextIOBase):
    """stderr as it was, remembering the last lines written (argparse's message, when it refuses an option)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream, self.tail = stream, ""

    def write(self, text: str) -> int:
        self.tail = (self.tail + text)[-2000:]
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    def last_line(self) -> str:
        lines = [x for x in self.tail.splitlines() if x.strip()]
        return lines[-1] if lines else ""


def _emit(stdout: TextIO, event: dict) -> None:
    stdout.write(json.dumps(event, ensure_ascii=False) + "\n")
    stdout.flush()
