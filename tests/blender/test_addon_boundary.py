"""The add-on's side of the boundary, in real Blender: the contract it reads, every button pressed, bad inputs
refused with a message and the scene unchanged, the job's scene pinned, the engine preference honoured."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

REPO = Path(__file__).resolve().parents[2]
ENGINE_CONTRACT = json.loads((REPO / "inference" / "data" / "engine_contract.json").read_text(encoding="utf-8"))


def _module(addon, name: str):
    return sys.modules[f"{addon.__name__}.{name}"]


def _scene_state(scene) -> tuple:
    """What a failed or cancelled job must leave exactly as it was."""
    sed = scene.sequence_editor
    strips = sed.strips if sed is not None and hasattr(sed, "strips") else (sed.sequences if sed else [])
    return (sorted(o.name for o in bpy.data.objects), sorted(a.name for a in bpy.data.actions),
            sorted(c.name for c in bpy.data.collections), scene.frame_start, scene.frame_end, scene.render.fps,
            sorted(s.name for s in strips))


@pytest.fixture(scope="module")
def short_line(tmp_path_factory) -> Path:
    """A short real-sounding English line (the engine's built-in espeak-ng voice, made by the engine)."""
    import subprocess

    folder = tmp_path_factory.mktemp("line")
    engine = os.environ["VIVIDTALK_ENGINE_PYTHON"]
    script = ("import sys; from inference.demo import write_demo_voice; "
              "write_demo_voice(sys.argv[1], 'Maybe the bob boat will move by Monday.')")
    subprocess.run([engine, "-c", script, str(folder / "line.wav")], check=True, cwd=REPO)
    return folder / "line.wav"


# ------------------------------------------------------------------------------------------ the contract
def test_the_installed_extension_reads_the_engines_contract(addon):
    installed = Path(addon.__file__).with_name("engine_contract.json")
    assert json.loads(installed.read_text(encoding="utf-8")) == ENGINE_CONTRACT


NOT_A_BUTTON = {"fps": "the scene's frame rate is used", "workers": "the engine picks one per core"}


@pytest.mark.parametrize("rna,group", [("settings", "animate_options"), ("generate", "animate_options"),
                                       ("settings", "engine_options"), ("generate", "engine_options"),
                                       ("render", "render_options")])
def test_panel_and_operators_offer_what_the_engine_accepts(addon, rna, group):
    props = {"settings": lambda: bpy.types.Scene.bl_rna.properties["vividtalk"].fixed_type.properties,
             "generate": lambda: bpy.ops.vividtalk.generate.get_rna_type().properties,
             "render": lambda: bpy.ops.vividtalk.render_video.get_rna_type().properties}[rna]()
    checked = 0
    for name, spec in ENGINE_CONTRACT[group].items():
        if name == "engine":  # the panel's Engine choice also offers wav2vec2 phones (the --phones option)
            assert [i.identifier for i in props["engine"].enum_items] == ["BUILTIN", "A2F", "WAV2VEC2"]
            continue
        if name == "phones":
            continue
        prop = props.get("language" if name == "lang" else name)
        if name in NOT_A_BUTTON:
            assert prop is None, name
            continue
        assert prop is not None, f"{rna} lacks the engine option {name}"
        checked += 1
        if spec["type"] in ("int", "float"):
            assert (prop.hard_min, prop.hard_max) == pytest.approx((spec["min"], spec["max"])), name
            if spec["default"] is not None:
                assert prop.default == pytest.approx(spec["default"]), name
        elif spec["type"] == "enum":
            assert [i.identifier.lower() for i in prop.enum_items] == spec["choices"], name
            assert prop.default.lower() == spec["default"], name
        elif spec["type"] == "path":
            assert prop.subtype == "DIR_PATH" and prop.default == "", name
        else:
            assert prop.default == (spec["default"] or ""), name
    assert checked >= (1 if group == "engine_options" else 2)


def test_engine_steps_pass_the_learned_engines_and_their_folders(addon, scene, tmp_path):
    generate = _module(addon, "generate")
    wav = tmp_path / "a.wav"
    wav.write_bytes(b"x")
    for engine, flags in (("A2F", ["--engine", "a2f", "--a2f-model"]),
                          ("WAV2VEC2", ["--phones", "wav2vec2", "--phone-model"])):
        req = generate.Request(audio_path=str(wav), engine=engine, a2f_model=str(tmp_path), phone_model=str(tmp_path),
                               device="CUDA")
        try:
            args = generate.engine_steps(req, scene)[0].args
        finally:
            req.cleanup()
        at = args.index(flags[0])
        assert args[at:at + 4] == [*flags, str(tmp_path)] and args[args.index("--device") + 1] == "cuda"
    req = generate.Request(audio_path=str(wav))
    try:
        args = generate.engine_steps(req, scene)[0].args
    finally:
        req.cleanup()
    assert "--engine" not in args and "--phones" not in args and "--device" not in args


def test_generate_with_audio2face_keys_the_take_and_reports_the_provider(addon, scene, short_line,
                                                                        tmp_path_factory):
    import subprocess

    folder = tmp_path_factory.mktemp("a2f") / "mark"
    made = subprocess.run([os.environ["VIVIDTALK_ENGINE_PYTHON"], str(REPO / "tools" / "make_tiny_a2f.py"),
                           str(folder)], capture_output=True, text=True, cwd=REPO)
    if made.returncode != 0:
        pytest.skip(f"the engine has no neural extra (pip install -e '.[neural]'): {made.stderr[-200:]}")
    assert bpy.ops.vividtalk.generate(audio_path=str(short_line), rig="PORTRAIT", engine="A2F",
                                      a2f_model=str(folder), device="CPU") == {"FINISHED"}
    action = next(a for a in bpy.data.actions if a.name.startswith("VividTalk"))
    meta = json.loads(action["vividtalk_clip"])["meta"]
    assert meta["a2f"]["provider"] == "CPUExecutionProvider" and meta["options"]["engine"] == "a2f"
    assert "jawOpen" in meta["a2f"]["channels"]
    status = bpy.context.window_manager.vividtalk_job.status
    assert "Audio2Face-3D (mark) on CPUExecutionProvider" in status, status


def test_engine_steps_pass_every_engine_option(addon, scene, tmp_path):
    generate = _module(addon, "generate")
    wav = tmp_path / "a.wav"
    wav.write_bytes(b"x")
    req = generate.Request(audio_path=str(wav), jaw_gain=0.5, lip_gain=2.0)
    try:
        args = generate.engine_steps(req, scene)[0].args
    finally:
        req.cleanup()
    for name in ENGINE_CONTRACT["animate_options"]:
        assert f"--{name.replace('_', '-')}" in args, name
    assert args[args.index("--jaw-gain") + 1] == "0.5" and args[args.index("--lip-gain") + 1] == "2"


def test_files_of_an_unknown_version_are_refused(addon, tmp_path):
    contract, rig_builder = _module(addon, "contract"), _module(addon, "rig_builder")
    clip = tmp_path / "clip.json"
    clip.write_text(json.dumps({"format": "vividtalk.motion", "version": 99}), encoding="utf-8")
    with pytest.raises(contract.FormatError, match="version 99"):
        contract.read_json_file(clip, "motion_clip")
    clip.write_text(json.dumps({"format": "vividtalk.retarget", "version": 1}), encoding="utf-8")
    with pytest.raises(contract.FormatError, match=r"not a vividtalk\.motion"):
        contract.read_json_file(clip, "motion_clip")
    rig = tmp_path / "rig.npz"
    np.savez(rig, format=np.array("vividtalk.rig"), version=np.array(7), name=np.array("x"))
    with pytest.raises(contract.FormatError, match="version 7"):
        rig_builder.RigData.load(str(rig))
    rig.write_text("not a zip")
    with pytest.raises(contract.FormatError, match="Could not read"):
        rig_builder.RigData.load(str(rig))


# ------------------------------------------------------------------------------------------ every button
def _addon_operators(addon) -> list[str]:
    names = []
    for module in ("operators", "preferences"):
        for cls in getattr(_module(addon, module), "CLASSES", ()):
            if issubclass(cls, bpy.types.Operator):
                names.append(cls.bl_idname.split(".", 1)[1])
    return names


def test_every_button_has_a_test_that_presses_it(addon):
    sources = "".join(p.read_text(encoding="utf-8") for p in Path(__file__).parent.glob("test_*.py"))
    pressed = set(re.findall(r"bpy\.ops\.vividtalk\.(\w+)\(", sources))
    missing = sorted(set(_addon_operators(addon)) - pressed)
    assert not missing, f"buttons no test presses: {missing}"


def test_export_csv_button(scene, short_line, tmp_path):
    assert bpy.ops.vividtalk.generate(audio_path=str(short_line), transcript="Maybe the bob boat will move by "
                                      "Monday.") == {"FINISHED"}
    out = tmp_path / "take curves.csv"
    assert bpy.ops.vividtalk.export_csv(filepath=str(out)) == {"FINISHED"}
    rows = out.read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("Timecode,BlendshapeCount,EyeBlinkLeft")
    assert len(rows) - 1 == scene.frame_end - scene.frame_start + 1
    jaw = [float(r.split(",")[rows[0].split(",").index("JawOpen")]) for r in rows[1:]]
    assert max(jaw) > 0.2  # the take, not a blank


def test_export_flame_button(scene, short_line, tmp_path):
    from tests.flame_factory import ellipsoid_flame_arrays, write_flame_pkl

    assert bpy.ops.vividtalk.generate(audio_path=str(short_line)) == {"FINISHED"}
    scene.vividtalk.flame_path = str(write_flame_pkl(ellipsoid_flame_arrays(), tmp_path / "flame.pkl"))
    out = tmp_path / "params.npz"
    assert bpy.ops.vividtalk.export_flame(filepath=str(out)) == {"FINISHED"}
    with np.load(out) as z:
        assert z["expression"].shape[0] == scene.frame_end - scene.frame_start + 1
        assert np.isfinite(z["expression"]).all()


def test_the_install_button_says_what_is_missing(addon, monkeypatch, tmp_path):
    """Without a Python 3.11 on the machine the button says what to install; nothing is left half-made."""
    engine_install = _module(addon, "engine_install")
    monkeypatch.setattr(engine_install, "python_candidates", lambda: [str(tmp_path / "no python here")])
    monkeypatch.setattr(engine_install, "_user_dir", tmp_path)
    with pytest.raises(RuntimeError, match=r"needs Python 3\.11"):
        bpy.ops.vividtalk.install_engine()
    assert not (tmp_path / "engine").exists() and not (tmp_path / "engine.new").exists()
    with pytest.raises(RuntimeError, match="Nothing is being installed"):
        bpy.ops.vividtalk.install_engine_cancel()


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("VIVIDTALK_TEST_ENGINE_INSTALL") != "1",
                    reason="installs the engine (~1 GB) into a fresh environment; CI sets "
                           "VIVIDTALK_TEST_ENGINE_INSTALL=1 for one Blender version")
def test_the_install_button_installs_a_working_engine(addon, scene, short_line, monkeypatch, tmp_path):
    engine, engine_install = _module(addon, "engine"), _module(addon, "engine_install")
    monkeypatch.setattr(engine_install, "_user_dir", tmp_path / "user folder")
    assert bpy.ops.vividtalk.install_engine() == {"FINISHED"}
    python = engine.managed_engine_python()
    assert python.exists() and not python.parent.parent.with_name("engine.new").exists()
    monkeypatch.delenv(engine.ENV_VAR)  # a fresh user: no environment variable, no checkout
    monkeypatch.setattr(engine.shutil, "which", lambda _name: None)
    engine.forget_checks()
    found, origin = engine.find_engine_python("")
    assert found == str(python) and "button" in origin
    assert bpy.ops.vividtalk.generate(audio_path=str(short_line)) == {"FINISHED"}


# ------------------------------------------------------------------------------------------ bad inputs
def _fifo(folder: Path) -> Path:
    os.mkfifo(folder / "voice.wav")
    return folder / "voice.wav"


def _write_wav(path: Path, samples) -> Path:
    import wave

    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((np.asarray(samples) * 32767).astype("<i2").tobytes())
    return path


BAD_AUDIO = {
    "missing": (lambda d: d / "missing.wav", "does not exist"),
    "folder": (lambda d: (d / "voice.wav").mkdir() or d / "voice.wav", "is a folder"),
    "fifo": (_fifo, "not a regular file"),
    "empty": (lambda d: ((d / "v.wav").write_bytes(b"") and d / "v.wav") or d / "v.wav", "empty"),
    "1 ms": (lambda d: _write_wav(d / "v.wav", np.full(16, 0.1)), "1 ms of audio"),
    "text": (lambda d: (d / "v.mp3").write_text("words " * 100) and d / "v.mp3", "Cannot read audio"),
}


@pytest.mark.parametrize("kind", BAD_AUDIO)
def test_bad_audio_is_refused_and_the_scene_stays(scene, tmp_path, kind):
    bpy.ops.mesh.primitive_cube_add()
    make, message = BAD_AUDIO[kind]
    before = _scene_state(scene)
    with pytest.raises(RuntimeError, match=message):
        bpy.ops.vividtalk.generate(audio_path=str(make(tmp_path)))
    assert _scene_state(scene) == before


@pytest.mark.parametrize("options,message", [
    ({"transcript": "/nowhere/words.txt"}, "does not exist"),
    ({"language": "xx-nowhere"}, "Unknown language"),
    ({"rig": "ICT", "ict_path": "/nowhere/ict"}, "No ICT-FaceKit head"),
    ({"rig": "FLAME", "flame_path": "/nowhere/flame.pkl"}, "does not exist"),
    ({"rig": "PORTRAIT", "portrait_path": "/nowhere/me.jpg"}, "does not exist"),
    ({"head_from": "/nowhere/speaker.mp4"}, "Head motion video"),
    ({"engine": "A2F"}, "Audio2Face-3D model"),
    ({"engine": "WAV2VEC2", "phone_model": "/nowhere/w2v"}, "does not exist"),
])
def test_bad_options_are_refused_and_the_scene_stays(scene, short_line, options, message):
    before = _scene_state(scene)
    with pytest.raises(RuntimeError, match=message):
        bpy.ops.vividtalk.generate(audio_path=str(short_line), **options)
    assert _scene_state(scene) == before


@pytest.mark.parametrize("preference,message", [("/nowhere/bin/python", "does not exist"),
                                                ("/", "is not a program"),
                                                ("/bin/true", "has no vividtalk engine")])
def test_an_engine_preference_pointing_nowhere_is_reported_not_overridden(addon, scene, short_line, preference,
                                                                          message):
    prefs = bpy.context.preferences.addons[addon.__name__].preferences
    assert os.environ.get(_module(addon, "engine").ENV_VAR)  # a working engine that must not be used instead
    prefs.engine_python = preference
    try:
        with pytest.raises(RuntimeError, match=message):
            bpy.ops.vividtalk.generate(audio_path=str(short_line))
    finally:
        prefs.engine_python = ""


# ------------------------------------------------------------------------------------------ the job's scene
class _Timer:
    type = "TIMER"


def _pump(op, deadline_s: float = 120) -> set[str]:
    deadline = time.monotonic() + deadline_s
    result = {"RUNNING_MODAL"}
    while result == {"RUNNING_MODAL"} and time.monotonic() < deadline:
        result = op.modal(bpy.context, _Timer())
        time.sleep(0.05)
    return result


def test_the_take_goes_to_the_scene_the_job_started_in(addon, scene, short_line):
    if bpy.context.window is None:
        pytest.skip("needs a window for the modal job")
    first = scene
    assert bpy.ops.vividtalk.generate(audio_path=str(short_line), run_async=True) == {"RUNNING_MODAL"}
    op = _module(addon, "operators").VIVIDTALK_OT_generate.running
    job = bpy.context.window_manager.vividtalk_job
    assert job.running and job.scene_name == first.name
    other = bpy.data.scenes.new("Another scene")
    bpy.context.window.scene = other  # the user switches scenes while the engine runs
    assert _pump(op) == {"FINISHED"}
    assert not job.running
    assert [o for o in other.objects] == []
    assert any(o.type == "ARMATURE" for o in first.objects)
    assert first.frame_end > 1 and first.sequence_editor is not None


def test_exports_to_bad_places_say_why_and_write_nothing(scene, short_line, tmp_path):
    from tests.flame_factory import ellipsoid_flame_arrays, write_flame_pkl

    assert bpy.ops.vividtalk.generate(audio_path=str(short_line)) == {"FINISHED"}
    scene.vividtalk.flame_path = str(write_flame_pkl(ellipsoid_flame_arrays(), tmp_path / "flame.pkl"))
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    buttons = {"csv": bpy.ops.vividtalk.export_csv, "fbx": bpy.ops.vividtalk.export_fbx,
               "flame": bpy.ops.vividtalk.export_flame, "video": lambda **kw: bpy.ops.vividtalk.render_video(
                   size=64, **kw)}
    for name, press in buttons.items():
        for path, message in (("", "Give a file name"), (str(folder), "is a folder"),
                              (str(folder) + os.sep, "is a folder"),
                              (str(tmp_path / "missing" / f"x.{name}"), "does not exist")):
            before = _scene_state(scene)
            with pytest.raises(RuntimeError, match=message):
                press(filepath=path)
            assert _scene_state(scene) == before, (name, path)
            assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"], (name, path)
            assert not (tmp_path / "missing").exists()


def test_generate_by_default_builds_the_head_from_the_photo_and_renders_its_video(scene, short_line, shared_data,
                                                                                   tmp_path):
    """The default target: the complete head shaped and textured from the portrait; Render Video then drives the
    same photo's talking-head video with the take's curves."""
    from inference.motion.arkit import ARKIT_NAMES

    photo = shared_data / "portraits" / "flux_woman_0033.png"
    assert bpy.context.scene.vividtalk.rig == "HEAD"
    assert bpy.ops.vividtalk.generate(audio_path=str(short_line), portrait_path=str(photo)) == {"FINISHED"}
    arm = next(o for o in scene.objects if o.type == "ARMATURE")
    mesh = next(o for o in scene.objects if o.type == "MESH" and o.parent == arm)
    assert set(ARKIT_NAMES) <= set(mesh.data.shape_keys.key_blocks.keys())
    assert {"M_Teeth", "M_GumsTongue", "M_ScleraLeft"} <= {m.name.rsplit(" ", 1)[-1] for m in mesh.data.materials}
    assert any(n.type == "TEX_IMAGE" for m in mesh.data.materials for n in m.node_tree.nodes)
    assert {"jaw", "eye_L", "eye_R", "head"} <= set(arm.data.bones.keys())
    scene.frame_end = scene.frame_start + 9
    out = tmp_path / "her.mp4"
    assert bpy.ops.vividtalk.render_video(filepath=str(out), size=64) == {"FINISHED"}
    assert out.stat().st_size > 1000


def test_the_warm_engine_serves_generate_after_generate_and_survives_a_cancel(addon, scene, short_line):
    engine_module = _module(addon, "engine")
    python = os.environ["VIVIDTALK_ENGINE_PYTHON"]
    warm = engine_module.warm_engine(python)
    assert bpy.ops.vividtalk.generate(audio_path=str(short_line)) == {"FINISHED"}
    first = warm._process
    assert first is not None and first.poll() is None  # kept running after the job
    started = time.perf_counter()
    assert bpy.ops.vividtalk.generate(audio_path=str(short_line)) == {"FINISHED"}
    again = time.perf_counter() - started
    assert warm._process is first  # the same process served the second Generate

    # a cancelled command: the engine answers 130 and stays up for the next one
    job = engine_module.EngineJob(python, [engine_module.Step(["animate", str(short_line), "-o",
                                                               str(Path(short_line).with_suffix(".json"))], "x")])
    job.start()
    while warm._process is first and not warm.lock.locked() and job.running:
        time.sleep(0.005)
    job.cancel()
    job._thread.join(60)
    final, _ = job.outcome()
    assert final is not None and final.kind in ("cancelled", "done")  # done: it finished before the cancel landed
    assert warm._process is first and first.poll() is None

    # a dead engine is replaced by the next job, which still succeeds
    first.kill()
    first.wait()
    assert bpy.ops.vividtalk.generate(audio_path=str(short_line)) == {"FINISHED"}
    assert warm._process is not None and warm._process is not first
    print(f"second Generate on the warm engine: {again:.2f} s")


def test_the_head_moves_like_the_speaker_in_a_reference_video(addon, scene, short_line, shared_data):
    video = shared_data / "video" / "brbk7n.mpg"
    steps = _module(addon, "generate").engine_steps(
        _module(addon, "generate").Request(audio_path=str(short_line), head_from=str(video)), scene)
    assert steps[0].args[-2:] == ["--head-from", str(video)]
    assert bpy.ops.vividtalk.generate(audio_path=str(short_line), head_from=str(video)) == {"FINISHED"}
    arm = next(o for o in scene.objects if o.type == "ARMATURE")
    assert arm.animation_data is not None and arm.animation_data.action is not None
