#!/usr/bin/env bash
# Install vividtalk into ./.venv (Python 3.11), with Blender as a module (bpy). `bash install.sh --test` adds
# the test tools.
# mediapipe 0.10.21 is installed without its declared dependencies on purpose (see pyproject.toml).
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
"$PY" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || {
    echo "vividtalk needs Python 3.11 (Blender 4.2-5.0 and the bpy wheels use it); set PYTHON=/path/to/python3.11" >&2
    exit 1
}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# the engine plus Blender as a Python module (FBX from the demo and batch scripts); --test adds the test tools
extras="[blender]"
[ "${1:-}" = "--test" ] && extras="[test]"
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".${extras}"
.venv/bin/python -m pip install -q --no-deps "mediapipe==0.10.21"
# byte-compile the engine now: an editable install is not compiled by pip, and where PYTHONDONTWRITEBYTECODE is
# set (containers, CI) every start would compile ~40 modules again (0.1 s of a 0.5 s cold start)
.venv/bin/python -m compileall -q inference
echo "installed: $(.venv/bin/vividtalk --version) in $(pwd)/.venv"
