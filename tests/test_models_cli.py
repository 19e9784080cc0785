"""``vividtalk models``: check says what a folder holds and whether it runs; fetch reports an offline machine or
an unknown name clearly and leaves nothing behind; list names the known models."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def _vividtalk(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "inference", *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, **(env or {})})


def _make(tool: str, folder: Path) -> Path:
    return importlib.import_module(f"tools.{tool}").make(folder)


def test_check_reports_an_a2f_folder_its_tensors_and_provider(tmp_path):
    pytest.importorskip("onnxruntime", reason="needs the neural extra: pip install -e '.[neural]'")
    pytest.importorskip("onnx", reason="needs the neural extra: pip install -e '.[neural]'")
    folder = _make("make_tiny_a2f", tmp_path / "mark")
    done = _vividtalk("models", "check", str(folder), "--device", "cpu", "--progress", "json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["inputs"] == {"input": ["batch", 1, 8320], "emotion": ["batch", 1, 26]}
    assert result["outputs"] == {"result": ["batch", 1, 35]}
    assert result["provider"] == "CPUExecutionProvider" and result["poses"] == 52
    assert "network.onnx" in result["files"]


def test_check_reports_a_wav2vec2_folder(tmp_path):
    pytest.importorskip("transformers", reason="needs the neural extra: pip install -e '.[neural]'")
    folder = _make("make_tiny_wav2vec2", tmp_path / "w2v")
    done = _vividtalk("models", "check", str(folder), "--device", "cpu")
    assert done.returncode == 0, done.stderr
    assert "wav2vec2 phoneme CTC" in done.stdout and "it runs here: torch" in done.stdout


def test_check_on_a_folder_without_a_model_points_to_the_one_inside(tmp_path):
    (tmp_path / "inside").mkdir()
    (tmp_path / "inside" / "network_info.json").write_text("{}")
    done = _vividtalk("models", "check", str(tmp_path))
    assert done.returncode == 2 and "seems to be in" in done.stderr and "inside" in done.stderr


def test_fetch_offline_says_how_to_get_the_model_and_leaves_nothing(tmp_path):
    pytest.importorskip("huggingface_hub", reason="needs the neural extra: pip install -e '.[neural]'")
    target = tmp_path / "models" / "mark"
    done = _vividtalk("models", "fetch", "a2f-mark", "-o", str(target), env={"HF_HUB_OFFLINE": "1"})
    assert done.returncode == 2
    assert "huggingface.co/nvidia/Audio2Face-3D-v2.3-Mark" in done.stderr and "offline" in done.stderr
    assert not target.exists()


def test_fetch_an_unknown_name_lists_the_known_ones():
    done = _vividtalk("models", "fetch", "a2f-bob")
    assert done.returncode == 2 and "a2f-mark" in done.stderr and "wav2vec2-espeak" in done.stderr
    listed = _vividtalk("models", "list")
    assert listed.returncode == 0 and "Apache-2.0" in listed.stdout and "NVIDIA Open Model License" in listed.stdout
