"""Voice lines to Blender scenes and FBX without opening Blender: the extension in the bpy module.

    .venv/bin/python tools/blender_batch.py LINE.wav [MORE.wav ...] -o OUT_DIR [--rig HEAD|PORTRAIT|ICT|FLAME]
        [--portrait PHOTO] [--ict DIR] [--flame MODEL] [--language en] [--preset UNREAL|UNITY] [--video]
    .venv/bin/python tools/blender_batch.py --jobs     (what `vividtalk batch` runs for FBX and .blend outputs)

For each audio file: a fresh scene, Generate (the transcript is the .txt beside the audio when there is
one), Export FBX, optionally Render Video, and the .blend saved next to them. The extension is built and
installed exactly as a user installs it; the engine is this interpreter. Studios can copy this loop into
``blender -b -P`` scripts: it only calls the operators documented in docs/blender.md.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _install_extension():
    os.environ.setdefault("BLENDER_USER_RESOURCES", tempfile.mkdtemp(prefix="vividtalk_blender_"))
    os.environ.setdefault("VIVIDTALK_ENGINE_PYTHON", sys.executable)
    import bpy  # first: it puts Blender's own modules (addon_utils) on the path

    addon_utils = importlib.import_module("addon_utils")

    sys.path.insert(0, str(REPO / "tools"))
    from build_extension import build

    zip_path = build(Path(tempfile.mkdtemp(prefix="vividtalk_dist_")))
    result = bpy.ops.extensions.package_install_files(filepath=str(zip_path), repo="user_default",
                                                      enable_on_install=True)
    if result != {"FINISHED"}:
        raise SystemExit(f"Could not install the extension from {zip_path}")
    return bpy, addon_utils, "bl_ext.user_default.vividtalk"


JOB_KEY = "vividtalk_job"
"""Marks the job answers on stdout (Blender writes its own messages there too)."""


def run_jobs(stdin=sys.stdin, stdout=sys.stdout) -> int:
    """``--jobs``: one JSON object per line on stdin, one voice line each: ``id``, ``audio``, ``transcript``,
    ``options`` (the contract's animate options by name), ``portrait`` (a photo or ""), ``head_from`` (a video
    or a saved head style, or ""), ``fbx`` and ``blend`` (paths or ""), ``preset``. For each: a fresh scene,
    Generate onto the head from the photo, Export FBX, save the .blend; then
    ``{"vividtalk_job": id, "ok": ..., "message": ...}`` on a line of its own."""
    bpy, addon_utils, module = _install_extension()
    try:
        for raw in stdin:
            if not raw.strip():
                continue
            job = json.loads(raw)
            ok, message = _job(bpy, addon_utils, module, job)
            stdout.write("\n" + json.dumps({JOB_KEY: job["id"], "ok": ok, "message": message}) + "\n")
            stdout.flush()
    finally:
        addon_utils.disable(module, default_set=True)
    return 0


def _job(bpy, addon_utils, module, job: dict) -> tuple[bool, str]:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon_utils.enable(module, default_set=True)
    options = dict(job.get("options", {}))
    fps = float(options.pop("fps", 30.0))
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = round(fps), round(fps) / fps
    if "lang" in options:
        options["language"] = options.pop("lang")
    for name in ("emotion", "head_style"):  # Blender's enum identifiers are upper case
        if name in options:
            options[name] = str(options[name]).upper()
    try:
        bpy.ops.vividtalk.generate(audio_path=job["audio"], transcript=job.get("transcript") or "", rig="HEAD",
                                   portrait_path=job.get("portrait") or "", head_from=job.get("head_from") or "",
                                   **options)
        if job.get("fbx"):
            bpy.ops.vividtalk.export_fbx(filepath=job["fbx"], preset=job.get("preset", "UNREAL"))
        if job.get("blend"):
            bpy.ops.wm.save_as_mainfile(filepath=job["blend"])  # Blender writes beside it, then renames
    except RuntimeError as e:  # the operators' own messages
        return False, str(e).removeprefix("Error: ").strip()
    return True, ""


def main(argv: list[str] | None = None) -> int:
    if (sys.argv[1:] if argv is None else argv) == ["--jobs"]:
        return run_jobs()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("audio", nargs="+", type=Path)
    ap.add_argument("-o", "--output-dir", type=Path, required=True)
    ap.add_argument("--name", help="file name stem for a single line (default: the audio's stem)")
    ap.add_argument("--rig", default="HEAD", choices=("HEAD", "PORTRAIT", "ICT", "FLAME"))
    ap.add_argument("--portrait", default="", help="portrait photo (default: the built-in face)")
    ap.add_argument("--ict", default="", help="ICT-FaceKit folder (for --rig ICT, or FLAME's ARKit targets)")
    ap.add_argument("--flame", default="", help="FLAME model file (for --rig FLAME)")
    ap.add_argument("--language", default="en")
    ap.add_argument("--preset", default="UNREAL", choices=("UNREAL", "UNITY"))
    ap.add_argument("--video", action="store_true", help="also render the talking-head video")
    args = ap.parse_args(argv)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    bpy, addon_utils, module = _install_extension()
    failures = 0
    try:
        for wav in args.audio:
            stem = args.name if args.name and len(args.audio) == 1 else wav.stem
            txt = wav.with_suffix(".txt")
            bpy.ops.wm.read_factory_settings(use_empty=True)
            addon_utils.enable(module, default_set=True)
            try:
                bpy.ops.vividtalk.generate(audio_path=str(wav.resolve()), language=args.language, rig=args.rig,
                                           transcript=txt.read_text(encoding="utf-8") if txt.exists() else "",
                                           portrait_path=args.portrait, ict_path=args.ict, flame_path=args.flame)
                bpy.ops.vividtalk.export_fbx(filepath=str(args.output_dir / f"{stem}.fbx"), preset=args.preset)
                if args.video:
                    bpy.ops.vividtalk.render_video(filepath=str(args.output_dir / f"{stem}.mp4"))
                bpy.ops.wm.save_as_mainfile(filepath=str((args.output_dir / f"{stem}.blend").resolve()))
                print(f"{wav}: {args.output_dir / stem}.fbx, .blend{', .mp4' if args.video else ''}")
            except RuntimeError as e:  # the operators' own messages (bad audio, missing rig files)
                failures += 1
                print(f"{wav}: {e}", file=sys.stderr)
    finally:
        addon_utils.disable(module, default_set=True)  # bpy 4.5 hangs at exit with operators registered
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
