"""``vividtalk batch``: a manifest of voice lines on warm workers, resumable, every bad line reported, none
stopping the others; each line's clip the same as ``vividtalk animate`` writes for it."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from inference.batch.manifest import read_manifest
from inference.demo import write_demo_voice
from inference.errors import InputError

LINES = ("The quick brown fox jumps over the lazy dog.", "Please bring me the map before noon today.",
         "My sister lives in a small house by the river.")


@pytest.fixture(scope="module")
def voices(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("voices")
    for i, text in enumerate(LINES):
        write_demo_voice(folder / f"line{i}.wav", text)
        (folder / f"line{i}.txt").write_text(text, encoding="utf-8")
    (folder / "broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunk")
    return folder


def _vividtalk(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "inference", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


def _manifest(folder: Path, rows: list[dict[str, str]], name: str = "lines.csv") -> Path:
    path = folder / name
    columns = sorted({k for r in rows for k in r}, key=lambda c: (c != "audio", c))
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_a_batch_does_every_good_line_reports_the_bad_ones_and_resumes(voices, tmp_path):
    rows = [{"audio": str(voices / f"line{i}.wav"), "transcript": str(voices / f"line{i}.txt"),
             "clip": f"out/line{i}.json", "csv": f"out/line{i}.csv" if i == 1 else ""} for i in range(3)]
    rows[2]["transcript"] = LINES[2]  # the words themselves
    rows[1]["mouth_gain"] = "1.5"
    rows[0] |= {"mp4": "out/line0.mp4", "size": "256"}  # the video through the built-in face
    rows += [{"audio": "nowhere/missing.wav", "clip": "out/missing.json"},
             {"audio": str(voices / "broken.wav"), "clip": "out/broken.json"}]
    manifest = _manifest(tmp_path, rows)
    (tmp_path / "out").mkdir()

    first = _vividtalk("batch", str(manifest), "--workers", "2", "--progress", "json")
    assert first.returncode == 4, first.stderr
    events = [json.loads(x) for x in first.stdout.splitlines()]
    result = events[-1]
    assert result["event"] == "result" and (result["done"], result["failed"], result["skipped"]) == (3, 2, 0)
    assert any(e["event"] == "progress" and e["stage"] == "batch" for e in events)
    with open(tmp_path / "lines.failures.csv", newline="", encoding="utf-8") as f:
        report = list(csv.DictReader(f))
    assert [(r["line"], r["exit_class"]) for r in report] == [("5", "bad_input"), ("6", "bad_input")]
    assert "missing.wav" in report[0]["input"] and "does not exist" in report[0]["message"]
    assert "broken.wav" in report[1]["input"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["line0.json", "line0.mp4", "line1.csv",
                                                                    "line1.json", "line2.json"]
    assert (tmp_path / "out" / "line0.mp4").stat().st_size > 10_000

    # each clip is what `vividtalk animate` writes for the line
    single = _vividtalk("animate", str(voices / "line1.wav"), "-t", str(voices / "line1.txt"), "--mouth-gain",
                        "1.5", "-o", str(tmp_path / "single.json"))
    assert single.returncode == 0, single.stderr
    assert (tmp_path / "single.json").read_bytes() == (tmp_path / "out" / "line1.json").read_bytes()

    # a re-run skips the finished lines; an input newer than its outputs is done again
    later = time.time() + 5
    os.utime(voices / "line2.wav", (later, later))
    again = _vividtalk("batch", str(manifest), "--progress", "json")
    result = json.loads(again.stdout.splitlines()[-1])
    assert again.returncode == 4 and (result["done"], result["skipped"], result["failed"]) == (1, 2, 2)
    os.utime(voices / "line2.wav")


def test_an_all_good_batch_exits_0_and_its_report_is_empty(voices, tmp_path):
    manifest = tmp_path / "lines.jsonl"
    manifest.write_text("\n".join(json.dumps({"audio": str(voices / f"line{i}.wav"), "transcript": LINES[i],
                                              "clip": f"clip{i}.json", "seed": 7}) for i in range(2)) + "\n",
                        encoding="utf-8")
    done = _vividtalk("batch", str(manifest), "--report", str(tmp_path / "failures.csv"), "--head-gain", "0")
    assert done.returncode == 0, done.stderr
    assert "2 lines: 2 done" in done.stdout
    assert (tmp_path / "failures.csv").read_text(encoding="utf-8").splitlines() == ["line,input,exit_class,message"]
    clip = json.loads((tmp_path / "clip0.json").read_text(encoding="utf-8"))
    assert max(abs(v) for values in clip["head"].values() for v in values) == 0  # the batch default applies


def test_the_manifest_is_read_with_its_paths_options_and_per_line_problems(tmp_path):
    (tmp_path / "words.txt").write_text("hello", encoding="utf-8")
    manifest = tmp_path / "m.csv"
    manifest.write_text("Audio,transcript,LANG,mouth-gain,emotion,clip,mp4\n"
                        "a.wav,words.txt,de,0.5,Happy,out/a.json,\n"
                        "b.wav,just some words,,,,,out/b.mp4\n"
                        "c.wav,,,7,,c.json,\n"
                        "d.wav,,,,,,\n"
                        "e.wav,,,,,e.wav,\n", encoding="utf-8")
    a, b, c, d, e = read_manifest(manifest)
    assert a.audio == tmp_path / "a.wav" and a.transcript_file == tmp_path / "words.txt" and a.transcript is None
    assert a.options == {"lang": "de", "mouth_gain": 0.5, "emotion": "happy"} and a.problem is None
    assert a.outputs == {"clip": tmp_path / "out" / "a.json"} and a.number == 2
    assert b.transcript == "just some words" and b.outputs == {"mp4": tmp_path / "out" / "b.mp4"}
    assert "out of range" in c.problem
    assert "no output" in d.problem
    assert "is one of its inputs" in e.problem


@pytest.mark.parametrize(("text", "message"), [
    ("audio,clip,mouth_gian\na.wav,a.json,1\n", "unknown column(s) 'mouth_gian'"),
    ("transcript,clip\nhello,a.json\n", "no 'audio' column"),
    ("audio,clip\na.wav,same.json\nb.wav,same.json\n", "both write"),
    ("audio,clip\n", "no lines"),
])
def test_a_bad_manifest_stops_before_any_work(tmp_path, text, message):
    manifest = tmp_path / "m.csv"
    manifest.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_manifest(manifest)


def test_a_damaged_json_line_is_that_lines_failure(tmp_path):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text('{"audio": "a.wav", "clip": "a.json"}\n{"audio": "b.wav", NaN}\n[1, 2]\n',
                        encoding="utf-8")
    good, damaged, array = read_manifest(manifest)
    assert good.problem is None and "line 2" in damaged.problem and "not a JSON object" in array.problem


def test_a_missing_manifest_is_exit_2(tmp_path):
    result = _vividtalk("batch", str(tmp_path / "none.csv"))
    assert result.returncode == 2 and "does not exist" in result.stderr


@pytest.mark.skipif(importlib.util.find_spec("bpy") is None, reason="FBX and .blend come from Blender's bpy module")
def test_fbx_and_blend_outputs_come_from_blender(voices, tmp_path, shared_data):
    photo = shared_data / "portraits" / "flux_man_0324.png"
    manifest = _manifest(tmp_path, [
        {"audio": str(voices / "line0.wav"), "transcript": LINES[0], "clip": "out/a.json", "fbx": "out/a.fbx",
         "blend": "out/a.blend"},
        {"audio": str(voices / "line1.wav"), "transcript": LINES[1], "fbx": "out/b.fbx", "rig": str(photo)},
        {"audio": str(voices / "broken.wav"), "fbx": "out/c.fbx"}])
    (tmp_path / "out").mkdir()
    done = _vividtalk("batch", str(manifest), "--progress", "json")
    result = json.loads(done.stdout.splitlines()[-1])
    assert done.returncode == 4 and (result["done"], result["failed"]) == (2, 1), done.stderr
    for name in ("a.fbx", "b.fbx"):
        assert (tmp_path / "out" / name).read_bytes()[:18] == b"Kaydara FBX Binary"
    assert (tmp_path / "out" / "a.blend").read_bytes()[:4] in (b"BLEN", b"\x28\xb5\x2f\xfd")  # plain or zstd
    assert not (tmp_path / "out" / "c.fbx").exists()
    assert "broken.wav" in (tmp_path / "lines.failures.csv").read_text(encoding="utf-8")


def test_without_blender_fbx_lines_fail_with_the_remedy(monkeypatch, tmp_path):
    from inference.batch import blender_pass
    from inference.batch.manifest import BatchLine

    monkeypatch.setattr(blender_pass.importlib.util, "find_spec", lambda name: None)
    results = []
    line = BatchLine(2, tmp_path / "a.wav", outputs={"fbx": tmp_path / "a.fbx"})
    blender_pass.run_blender_pass([line], {}, "UNREAL", lambda _line, result: results.append(result))
    assert [(r.status, r.exit_class) for r in results] == [("failed", "bad_input")]
    assert "install.sh" in results[0].message


def test_a_line_can_move_its_head_like_a_reference_video(voices, tmp_path, shared_data):
    video = shared_data / "video" / "lbax4n.mpg"
    style = tmp_path / "style.npz"
    assert _vividtalk("head-style", str(video), "-o", str(style)).returncode == 0
    manifest = _manifest(tmp_path, [
        {"audio": str(voices / "line0.wav"), "transcript": LINES[0], "clip": "a.json", "head_from": str(video)},
        {"audio": str(voices / "line1.wav"), "transcript": LINES[1], "clip": "b.json", "head_from": "style.npz"},
        {"audio": str(voices / "line2.wav"), "transcript": LINES[2], "clip": "c.json", "head_from": "none.mp4"}])
    done = _vividtalk("batch", str(manifest), "--progress", "json")
    result = json.loads(done.stdout.splitlines()[-1])
    assert done.returncode == 4 and (result["done"], result["failed"]) == (2, 1), done.stderr
    for name in ("a.json", "b.json"):
        clip = json.loads((tmp_path / name).read_text(encoding="utf-8"))
        assert clip["meta"]["options"]["head_style"].startswith("from ")
    assert "none.mp4" in (tmp_path / "lines.failures.csv").read_text(encoding="utf-8")
