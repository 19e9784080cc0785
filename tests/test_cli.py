"""The command line as users and the add-on drive it: demo, animate, export-csv, errors, JSON progress."""

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from inference.cli import main
from tests.conftest import probe_video


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


def test_animate_renders_the_video_in_the_same_run(demo_voice, tmp_path):
    """``animate --video``: the clip and the talking-head video with the voice from one command, the video as
    ``render`` makes it from that clip."""
    clip_path, video = tmp_path / "line.json", tmp_path / "line.mp4"
    proc = run_cli("animate", str(demo_voice), "-o", str(clip_path), "--video", str(video), "--size", "96",
                   "--mouth", "drawn", "--progress", "json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["event"] == "result" and result["video"] == str(video.resolve())
    clip = json.loads(clip_path.read_text())
    frames, audio_s, has_audio = probe_video(video)
    assert has_audio and frames == clip["frame_count"]
    assert abs(audio_s - frames / clip["fps"]) <= 1 / clip["fps"]
    again = tmp_path / "again.mp4"
    assert main(["render", "--motion", str(clip_path), "--size", "96", "--mouth", "drawn", "-o", str(again),
                 "--progress", "quiet"]) == 0
    assert probe_video(again) == (frames, audio_s, has_audio)
    voice_only = tmp_path / "voice only.mp4"  # render given the voice alone makes the same clip first
    assert main(["render", "--audio", str(demo_voice), "--size", "96", "--mouth", "drawn", "-o", str(voice_only),
                 "--progress", "quiet"]) == 0
    assert probe_video(voice_only) == (frames, audio_s, has_audio)


def test_frames_made_from_the_voice_raise_no_warning_about_it(demo_voice, tmp_path, capsys):
    """PNG frames carry no sound; where the voice made the motion that is no news (the warning is for a voice
    given only to be muxed)."""
    for command in (["render", "--audio", str(demo_voice), "-o"],
                    ["animate", str(demo_voice), "-o", str(tmp_path / "x.json"), "--video"]):
        frames = tmp_path / f"{command[0]} frames"  # the folder the command's last option names
        assert main([*command, str(frames), "--size", "64", "--mouth", "drawn", "--progress", "quiet"]) == 0
        assert len(list(frames.glob("frame_*.png"))) > 10
        assert "not used" not in capsys.readouterr().err


def test_animate_refuses_a_video_it_could_not_make_before_the_analysis(demo_voice, tmp_path, monkeypatch):
    """An odd size, a photo without a face or a video over the recording are refused before the audio is
    analysed (seconds to minutes of work), and nothing is written."""
    import inference.pipeline

    def no_analysis(*_args, **_kwargs):
        raise AssertionError("the audio was analysed")

    monkeypatch.setattr(inference.pipeline, "animate", no_analysis)
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((256, 256, 3), 128, np.uint8))
    clip = tmp_path / "x.json"
    for extra, code in ((["--video", str(tmp_path / "v.mp4"), "--size", "95"], 2),
                        (["--video", str(tmp_path / "v.mp4"), "--image", str(blank)], 2),
                        (["--video", str(demo_voice)], 2)):
        assert main(["animate", str(demo_voice), "-o", str(clip), "--progress", "quiet", *extra]) == code
        assert not clip.exists() and not (tmp_path / "v.mp4").exists()
    assert demo_voice.stat().st_size > 1000


@pytest.mark.parametrize("args,code,message", [
    (["animate", "missing.wav", "-o", "{tmp}/x.json"], 2, "does not exist"),
    (["animate", "{voice}", "-o", "{tmp}/no/such/dir/x.json"], 3, "does not exist"),
    (["animate", "{voice}", "--lang", "xx", "-o", "{tmp}/x.json"], 2, "Unknown language"),
    (["animate", "{voice}", "--emotion", "bored", "-o", "{tmp}/x.json"], 2, "invalid choice: 'bored'"),
    (["animate", "{voice}", "--fps", "0", "-o", "{tmp}/x.json"], 2, "--fps: 0 is out of range"),
    (["export-csv", "{tmp}", "-o", "{tmp}/x.csv"], 2, "is not a regular file"),
    (["render", "-o", "{tmp}/x.json"], 2, "Nothing to render: give --motion"),
])
def test_errors_are_clear_and_nonzero(demo_voice, tmp_path, args, code, message):
    args = [a.format(tmp=tmp_path, voice=demo_voice) for a in args]
    proc = run_cli(*args)
    assert proc.returncode == code, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x.json").exists()
