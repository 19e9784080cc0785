"""What a cold ``vividtalk animate`` imports: not scipy.signal (half a second), scipy.ndimage (0.2-0.45 s) nor
pkg_resources (0.3 s, through pyworld's package), which made most of the start-up of a short line; nor the
learned backends' onnxruntime, torch and transformers (seconds) unless a learned backend is asked for."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from inference.audio.prosody import pitch_hz


def test_the_pipeline_and_the_command_line_start_without_the_slow_imports():
    probe = ("import sys, inference.cli, inference.pipeline, inference.audio.prosody as p; p._world(); "
             "slow = ('scipy.signal', 'scipy.ndimage', 'pkg_resources', 'scipy.stats', 'onnxruntime', 'torch', "
             "'transformers'); "
             "print(sorted(m for m in slow if m in sys.modules))")
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_pitch_comes_from_worlds_compiled_module():
    t = np.arange(16000) / 16000
    f0 = pitch_hz((0.3 * np.sin(2 * np.pi * 180 * t)).astype(np.float32))
    assert abs(np.median(f0[f0 > 0]) - 180) < 3


def test_mediapipe_runs_without_protobuf_noise(shared_data):
    """protobuf 6 (Ray's) lacks a method MediaPipe's graph code calls: no AttributeError may reach the user."""
    probe = ("from inference.rigs import mediapipe_topology as mt; mt.tessellation_triangles(); "
             "from inference.io.images import load_rgb; from inference.rigs.landmarks import detect_landmarks; "
             f"detect_landmarks(load_rgb({str(shared_data / 'portraits' / 'astronaut.png')!r}))")
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "AttributeError" not in run.stderr


def test_mediapipe_loads_without_importing_pyplot_which_still_works_when_used(shared_data):
    """MediaPipe's drawing helpers import matplotlib.pyplot (0.4 s of the face mesh's start-up) for plotting
    vividtalk never does: it stays a stand-in until something uses it, and then it is the real module."""
    probe = ("import sys; from inference.io.images import load_rgb; "
             "from inference.rigs.landmarks import detect_landmarks; "
             f"detect_landmarks(load_rgb({str(shared_data / 'portraits' / 'astronaut.png')!r})); "
             "print('matplotlib.figure' in sys.modules); "
             "import matplotlib.pyplot as plt; from matplotlib import colors; "
             "print(callable(plt.figure), colors.to_rgb('red'), 'matplotlib.figure' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split("\n")[:2] == ["False", "True (1.0, 0.0, 0.0) True"]
