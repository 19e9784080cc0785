"""The command line as users and the add-on drive it: demo, animate, export-csv, errors, JSON progress."""

import json
import subprocess
import sys

import numpy as np
import pytest

from inference.cli import main


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "inference", *args], capture_output=True, text=True, timeout=300)


def test_demo_runs_without_user_files(tmp_path):
    out = tmp_path / "dëmo out"
    assert main(["demo", "-o", str(out), "--progress", "quiet"]) == 0
    for name in ("demo_voice.wav", "demo_clip.json", "demo_curves.csv", "demo_face_rig.npz", "demo_video.mp4",
                 "demo_take.fbx", "demo_take.blend"):
        assert (out / name).stat().st_size > 1000, name
    clip = json.loads((out / "demo_clip.json").read_text())
    assert clip["format"] == "vividtalk.motion" and clip["meta"]["timing_methods"][0].startswith("align")
    assert any(v == "MBP" for _, _, v in clip["visemes"])


def test_animate_json_progress_and_csv(demo_voice, tmp_path):
    out = tmp_path / "clip.json"
    csv_out = tmp_path / "curves.csv"
    proc = run_cli("animate", str(demo_voice), "-t", "hello my name is vivid", "--progress", "json",
                   "-o", str(out), "--csv", str(csv_out), "--fps", "24")
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert events[0]["event"] == "progress" and events[-1]["event"] == "result"
    assert any(e["event"] == "warning" for e in events)  # the short text does not match the long line
    assert json.loads(out.read_text())["fps"] == 24.0
    assert csv_out.read_text().startswith("Timecode,BlendshapeCount,EyeBlinkLeft")
    proc = run_cli("export-csv", str(out), "-o", str(tmp_path / "again.csv"))
    assert proc.returncode == 0, proc.stderr
    direct = [r.split(",") for r in csv_out.read_text().splitlines()]
    again = [r.split(",") for r in (tmp_path / "again.csv").read_text().splitlines()]
    assert again[0] == direct[0] and len(again) == len(direct)
    assert np.allclose(np.array(again[1:])[:, 1:].astype(float), np.array(direct[1:])[:, 1:].astype(float),
                       atol=1e-4)  # the clip stores values to 1e-4


@pytest.mark.parametrize("args,code,message", [
    (["animate", "missing.wav", "-o", "{tmp}/x.json"], 2, "does not exist"),
    (["animate", "{voice}", "-o", "{tmp}/no/such/dir/x.json"], 3, "does not exist"),
    (["animate", "{voice}", "--lang", "xx", "-o", "{tmp}/x.json"], 2, "Unknown language"),
    (["animate", "{voice}", "--emotion", "bored", "-o", "{tmp}/x.json"], 2, "invalid choice: 'bored'"),
    (["animate", "{voice}", "--fps", "0", "-o", "{tmp}/x.json"], 2, "--fps: 0 is out of range"),
    (["export-csv", "{tmp}", "-o", "{tmp}/x.csv"], 2, "is not a regular file"),
])
def test_errors_are_clear_and_nonzero(demo_voice, tmp_path, args, code, message):
    args = [a.format(tmp=tmp_path, voice=demo_voice) for a in args]
    proc = run_cli(*args)
    assert proc.returncode == code, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x.json").exists()
