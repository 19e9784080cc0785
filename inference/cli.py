"""The ``vividtalk`` command line (also ``python -m inference``).

Exit codes: 0 success, 2 bad input, 3 output not writable, 4 some lines of a batch failed, 130 cancelled,
1 internal error.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import os
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .contract import add_options, add_progress
from .errors import Cancelled, InputError, OutputError, VividtalkError
from .progress import Progress

if TYPE_CHECKING:  # the command line starts without the rigs (tests/test_startup.py)
    from .rigs.rig import FaceRig


def _add_animate_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-t", "--transcript", help="what is said: the text itself or a UTF-8 .txt file "
                   "(the biggest lever for lip-sync quality)")
    add_options(p, "animate_options")
    add_options(p, "engine_options")
    add_progress(p)


def _add_face(p: argparse.ArgumentParser, prefix: str = "") -> None:
    """The face a video is rendered through: a photo or a portrait rig (``_portrait_rig``)."""
    face = p.add_mutually_exclusive_group()
    face.add_argument("--image", help=f"{prefix}portrait photo (default: the built-in public-domain astronaut "
                      "portrait)")
    face.add_argument("--rig", help=f"{prefix}a portrait face rig (.npz from 'vividtalk rig --image'), photo included")


def _portrait_rig(args: argparse.Namespace, progress: Progress) -> FaceRig:
    """The portrait rig ``--rig`` names, or the one built from ``--image`` (the built-in face without either)."""
    from .rigs.build import build_rig
    from .rigs.rig import FaceRig

    progress.update("rig", 0.0)
    rig = FaceRig.load(args.rig) if args.rig else build_rig("portrait", args.image)
    progress.update("rig", 1.0)
    return rig


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vividtalk", description="Voice recording -> editable facial animation.")
    parser.add_argument("--version", action="version", version=f"vividtalk {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("animate", help="audio (+ transcript) -> motion clip JSON")
    p.add_argument("audio", help="WAV, FLAC, OGG, Opus, MP3, M4A, AIFF or a video file")
    p.add_argument("-o", "--output", required=True, help="motion clip to write (.json)")
    p.add_argument("--csv", help="also write the ARKit curves as Live Link Face CSV here")
    style = p.add_mutually_exclusive_group()
    style.add_argument("--head-from", metavar="VIDEO", help="head motion in the style of the speaker in VIDEO (20 s "
                       "or more of footage; learned at use time), or of a style saved by 'vividtalk head-style' "
                       "(.npz), instead of --head-style")
    style.add_argument("--head-style-file", metavar="FILE", help="a head style saved by 'vividtalk head-style'")
    p.add_argument("--video", metavar="OUTPUT", help="also render the talking-head video with the voice here (.mp4, "
                   ".mov, .mkv, or a folder for PNGs), as 'vividtalk render' would from the clip")
    _add_face(p, "with --video: ")
    add_options(p, "render_options", ("size", "background", "mouth"))
    _add_animate_options(p)

    p = sub.add_parser("head-style", help="learn a head-motion style from a video of a speaker (.npz for "
                       "'animate --head-style-file')")
    p.add_argument("video", help="a video of the speaker talking, 20 s or more, face visible")
    p.add_argument("-o", "--output", required=True, help="head style to write (.npz)")
    add_progress(p)

    p = sub.add_parser("batch", help="many voice lines from a manifest (CSV or JSON lines) on warm workers, "
                       "resumable, with a failure report")
    p.add_argument("manifest", help="CSV with a header (audio, transcript, lang, clip, csv, mp4, any animate "
                   "option, rig) or JSON lines with those keys; paths relative to the manifest")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core)")
    p.add_argument("--report", help="failure report to write (CSV: line, input, exit_class, message; default: "
                   "MANIFEST.failures.csv beside the manifest)")
    p.add_argument("--redo", action="store_true", help="do every line again, even those whose outputs are newer "
                   "than their inputs")
    p.add_argument("--fbx-preset", choices=("UNREAL", "UNITY"), default="UNREAL", type=str.upper,
                   help="axes and scale of the FBX outputs (as the add-on's Export FBX)")
    p.add_argument("--cluster", metavar="ray[://ADDRESS]", help="run the lines as tasks on a Ray cluster: 'ray' "
                   "(the cluster this machine belongs to, or $RAY_ADDRESS) or 'ray://HOST:PORT' (Ray Client)")
    add_options(p, "animate_options")
    add_options(p, "engine_options")
    add_options(p, "render_options", ("size", "background", "mouth"))
    add_progress(p)

    p = sub.add_parser("export-csv", help="motion clip -> ARKit curves CSV (Unreal Live Link Face layout)")
    p.add_argument("clip", help="motion clip (.json) written by 'vividtalk animate'")
    p.add_argument("-o", "--output", required=True, help="CSV file to write")
    add_progress(p)

    p = sub.add_parser("demo", help="run the whole job on a built-in voice line (no files needed)")
    p.add_argument("-o", "--output-dir", default="vividtalk_demo", help="folder for the results")
    add_progress(p)

    p = sub.add_parser("rig", help="build a face rig (.npz): from a photo, ICT-FaceKit or a FLAME model")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--image", help="portrait photo (default: the built-in public-domain astronaut portrait)")
    src.add_argument("--ict", nargs="?", const="", metavar="DIR",
                     help="the ICT-FaceKit head: the one that ships with vividtalk, or the checkout in DIR")
    src.add_argument("--flame", help="FLAME 2020/2023 model (.pkl or .npz), loaded without running its code")
    p.add_argument("--fit", metavar="PHOTO", help="with --ict: shape the head like the face in PHOTO (its identity "
                   "from the photo's landmarks, its skin texture projected from the photo)")
    p.add_argument("--arkit-from-ict", metavar="DIR", help="with --flame: fit the ARKit mapping to ICT-FaceKit's "
                   "shapes in DIR instead of the built-in face")
    p.add_argument("-o", "--output", required=True, help="rig file to write (.npz)")
    add_progress(p)

    p = sub.add_parser("export-flame", help="motion clip -> FLAME parameters per frame (.npz)")
    p.add_argument("clip", help="motion clip (.json) written by 'vividtalk animate'")
    p.add_argument("--model", required=True, help="FLAME 2020/2023 model (.pkl or .npz)")
    p.add_argument("--arkit-from-ict", metavar="DIR", help="fit the ARKit mapping to ICT-FaceKit's shapes in DIR")
    p.add_argument("-o", "--output", required=True, help="parameters to write (.npz)")
    add_progress(p)

    p = sub.add_parser("retarget", help="motion clip -> keys for a character's own shape keys (ARKit or visemes)")
    p.add_argument("clip", help="motion clip (.json) written by 'vividtalk animate'")
    p.add_argument("--shape-keys", required=True, help="JSON file with the list of the character's shape-key names")
    p.add_argument("-o", "--output", required=True, help="keys to write (.json)")
    add_progress(p)

    p = sub.add_parser("render", help="portrait photo + motion -> talking-head video (MP4 with audio, or PNG frames)")
    _add_face(p)
    motion = p.add_mutually_exclusive_group()
    motion.add_argument("--motion", help="motion clip (.json) from 'vividtalk animate'")
    motion.add_argument("--meshes", help="per-frame portrait-rig meshes (.npz, written by the Blender add-on)")
    p.add_argument("--audio", help="voice to mux into the video (default: the motion clip's own audio); without "
                   "--motion or --meshes, the motion is made from it first (English words recognised; for a "
                   "transcript, another language or a head style, use 'vividtalk animate AUDIO --video OUT')")
    p.add_argument("--device", default="cpu", help="cpu (OpenCV, the frames spread over the cores; the fast path) "
                   "or cuda (PyTorch grid_sample on a GPU; measured slower, docs/render.md)")
    add_options(p, "render_options")
    p.add_argument("-o", "--output", required=True, help="video to write (.mp4, .mov, .mkv), or a folder for PNGs")
    add_progress(p)

    p = sub.add_parser("serve", help="stay running and run commands sent as JSON lines on stdin (a warm engine "
                       "for the Blender add-on; see inference/serve.py)")
    add_progress(p)

    add_progress(sub.add_parser("languages", help="list the language codes and voices the transcript can use"))

    p = sub.add_parser("models", help="learned models: check a folder, download a known one, list them")
    p.add_argument("action", choices=("check", "fetch", "list"), help="check DIR: what the folder holds and whether "
                   "it runs here; fetch NAME: download from the Hugging Face Hub; list: the known names")
    p.add_argument("target", nargs="?", help="the folder (check) or the model's name (fetch)")
    p.add_argument("-o", "--output-dir", help="fetch: the folder to download into (default: ./models/NAME)")
    add_options(p, "engine_options", ("device", "a2f_actor"))
    add_progress(p)
    return parser


def _cmd_animate(args: argparse.Namespace, progress: Progress) -> int:
    from .io.atomic import check_writable_target
    from .io.livelink_csv import write_csv
    from .pipeline import AnimateOptions, animate, read_transcript

    check_writable_target(args.output)  # fail before minutes of work, not after
    if args.csv:
        check_writable_target(args.csv)
    rig, to_video = None, False
    if args.video:
        from .render.job import check_render_output

        to_video = check_render_output(args.video, args.size)  # a video file, not a folder of PNG frames
        rig = _portrait_rig(args, progress)  # a photo without a face is refused before the analysis, not after
    elif args.image or args.rig:
        progress.warn("--image and --rig choose the face of the video; without --video they were not used.")
    options = AnimateOptions.from_contract(vars(args), read_transcript(args.transcript))
    if args.head_from or args.head_style_file:
        from .pipeline import load_head_style

        model = load_head_style(args.head_from or args.head_style_file, progress)
        options = dataclasses.replace(options, head_style_model=model)
    started = time.perf_counter()
    clip = animate(args.audio, options, progress, _analyzer())
    progress.update("write", 0.0)
    clip.save(args.output)
    if args.csv:
        write_csv(clip, args.csv)
    progress.update("write", 1.0)
    video = None
    if rig is not None:
        from .render.job import render_video
        from .render.mesh_frames import frames_from_clip

        # the voice is the recording itself (a video's soundtrack too); PNG frames have none, and need no warning
        video = render_video(rig, frames_from_clip(clip, rig), args.video, args.audio if to_video else None,
                             args.size, "cpu", progress, layered=args.background == "layers", interior=args.mouth)
    elapsed = time.perf_counter() - started
    extra = {"video": video.output} if video else {}
    progress.result(output=str(Path(args.output).resolve()), frames=clip.n_frames, duration=clip.duration,
                    seconds=round(elapsed, 3), warnings=progress.warnings, **extra)
    if progress.mode != "json":
        n_keys = sum(len(k) for k in clip.keys.values())
        print(f"wrote {args.output}: {clip.duration:.2f} s, {clip.n_frames} frames at {clip.fps:g} fps, "
              f"{n_keys} keys, timing by {', '.join(sorted(set(clip.meta['timing_methods']))) or 'none'}"
              + (f"; {args.video} at {args.size}x{args.size}" if video else "") + f" in {elapsed:.2f} s")
    return 0


def _cmd_batch(args: argparse.Namespace, progress: Progress) -> int:
    from .batch.line_job import default_options
    from .batch.runner import run_batch
    from .cores import usable_cores

    if args.workers is not None and not 1 <= args.workers <= 256:
        raise InputError(f"--workers must be between 1 and 256 (got {args.workers}).")
    defaults = default_options(**{k: v for k, v in vars(args).items() if k not in ("manifest", "workers")})
    summary = run_batch(args.manifest, defaults, args.workers or usable_cores(), progress,
                        Path(args.report) if args.report else None, args.redo, args.cluster, args.fbx_preset)
    done, skipped, failed = summary.count("done"), summary.count("skipped"), summary.count("failed")
    progress.result(output=str(summary.report), lines=len(summary.results), done=done, skipped=skipped,
                    failed=failed, seconds=round(summary.seconds, 3), audio_seconds=round(summary.audio_seconds, 3),
                    warnings=progress.warnings)
    if progress.mode != "json":
        speed = f", {summary.audio_seconds / summary.seconds:.1f}x real time" if summary.audio_seconds else ""
        print(f"{len(summary.results)} lines: {done} done, {skipped} already done, {failed} failed in "
              f"{summary.seconds:.1f} s{speed}" + (f"; failures listed in {summary.report}" if failed else ""))
    return summary.exit_code


@functools.cache
def _analyzer():
    """One phone-timing analyzer per process: a server (``vividtalk serve``) keeps its decoders loaded."""
    from .audio.analysis import Analyzer

    return Analyzer()


def _load_take(path: str):
    """A motion clip, or a take Blender sampled from a character's own shape keys (mapped to ARKit)."""
    from .motion.clip import MotionClip, curves_from_json, read_clip_json
    from .rigs.retarget import arkit_channels

    data = read_clip_json(path)
    if isinstance(data, dict) and data.get("format") == "vividtalk.motion" and isinstance(data.get("channels"), dict):
        data = {**data, "channels": arkit_channels(curves_from_json(data["channels"], f"{path}: channels"))}
    return MotionClip.from_dict(data, str(path))


def _cmd_head_style(args: argparse.Namespace, progress: Progress) -> int:
    from .io.atomic import check_writable_target
    from .pipeline import head_style_from_video

    check_writable_target(args.output)
    model = head_style_from_video(args.video, progress)
    model.save(args.output)
    if progress.mode != "json":
        spread = ", ".join(f"{axis} {value:.1f}°" for axis, value in zip(("pitch", "yaw", "roll"), model.spread,
                                                                         strict=True))
        print(f"wrote {args.output}: {len(model.snippets)} snippets of head motion, spread {spread}")
    progress.result(output=str(Path(args.output).resolve()), snippets=len(model.snippets),
                    spread=[round(float(v), 3) for v in model.spread], warnings=progress.warnings)
    return 0


def _cmd_export_csv(args: argparse.Namespace, progress: Progress) -> int:
    from .io.livelink_csv import write_csv

    clip = _load_take(args.clip)
    write_csv(clip, args.output)
    progress.result(output=str(Path(args.output).resolve()), frames=clip.n_frames)
    return 0


def _cmd_demo(args: argparse.Namespace, progress: Progress) -> int:
    out = Path(args.output_dir)
    if out.exists() and not out.is_dir():
        raise OutputError(f"'{out}' is a file; give a folder for the demo's results.")
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"Cannot create the output folder '{out}': {e.strerror}.") from e
    try:
        return _demo_into(out, progress)
    except BaseException:
        if created:  # the folder is ours: a failed demo leaves nothing behind
            shutil.rmtree(out, ignore_errors=True)
        raise


def _demo_into(out: Path, progress: Progress) -> int:
    from .demo import DEMO_TEXT, write_demo_voice
    from .io.atomic import atomic_open
    from .io.livelink_csv import write_csv
    from .pipeline import AnimateOptions, animate
    from .render.job import render_video
    from .render.mesh_frames import frames_from_clip
    from .rigs.portrait import default_portrait_rig

    voice = write_demo_voice(out / "demo_voice.wav")
    with atomic_open(out / "demo_voice.txt", "w") as f:
        f.write(DEMO_TEXT + "\n")
    clip = animate(voice, AnimateOptions(transcript=DEMO_TEXT), progress)
    clip.save(out / "demo_clip.json")
    write_csv(clip, out / "demo_curves.csv")
    rig = default_portrait_rig()
    rig.save(out / "demo_face_rig.npz")
    video = render_video(rig, frames_from_clip(clip, rig), out / "demo_video.mp4", str(voice), progress=progress)
    progress.update("blender", 0.0, "keying the rig in Blender")
    blender = _demo_blender_scene(voice, out, progress)
    progress.update("blender", 1.0)
    closures = sum(1 for _, _, v in clip.visemes if v == "MBP")
    print(f"demo: {voice} ({clip.duration:.1f} s) ->\n"
          f"  motion clip {out / 'demo_clip.json'} ({clip.n_frames} frames, "
          f"{sum(len(k) for k in clip.keys.values())} keys, {closures} lip closures)\n"
          f"  ARKit curves {out / 'demo_curves.csv'}, face rig {out / 'demo_face_rig.npz'}\n"
          f"  talking-head video {out / 'demo_video.mp4'} ({video.frames / max(video.seconds, 1e-9):.0f} frames/s)\n"
          f"  {blender}")
    return 0


def _demo_blender_scene(voice: Path, out: Path, progress: Progress) -> str:
    """The take keyed on the rig in Blender and exported as FBX by the extension itself (needs bpy)."""
    import importlib.util
    import subprocess

    script = Path(__file__).resolve().parents[1] / "tools" / "blender_batch.py"
    if importlib.util.find_spec("bpy") is None or not script.exists():
        return "no FBX: Blender's Python module is not installed here (bash install.sh installs it)"
    from .rigs.portrait import builtin_portrait_path

    proc = subprocess.run([sys.executable, str(script), str(voice), "-o", str(out), "--name", "demo_take",
                           "--portrait", str(builtin_portrait_path())], capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        progress.warn(f"The Blender step failed ({tail}); the other results are complete.")
        return "no FBX: the Blender step failed"
    return (f"Blender scene {out / 'demo_take.blend'} and FBX {out / 'demo_take.fbx'} (the head shaped and "
            "textured from the portrait, with sparse keys)")


def _cmd_rig(args: argparse.Namespace, progress: Progress) -> int:
    from .io.atomic import check_writable_target
    from .rigs.build import build_rig

    check_writable_target(args.output)
    kind, path = ("ict", args.ict) if args.ict is not None else ("flame", args.flame) if args.flame else \
        ("portrait", args.image)
    progress.update("rig", 0.0)
    if args.fit and kind != "ict":
        raise InputError("--fit shapes the ICT-FaceKit head: use it with --ict.")
    rig = build_rig(kind, path, args.arkit_from_ict, args.fit)
    for warning in filter(None, rig.meta.get("warnings", "").split("\n")):
        progress.warn(warning)
    rig.save(args.output)
    progress.update("rig", 1.0)
    progress.result(output=str(Path(args.output).resolve()), vertices=rig.n_vertices, shapes=len(rig.shape_names),
                    warnings=progress.warnings)
    if progress.mode != "json":
        print(f"wrote {args.output}: {rig.name}, {rig.n_vertices} vertices, {len(rig.shape_names)} shapes, "
              f"joints {', '.join(rig.joint_names)}")
    return 0


def _cmd_export_flame(args: argparse.Namespace, progress: Progress) -> int:
    from .io.atomic import check_writable_target
    from .motion.clip import MotionClip
    from .rigs.build import export_flame_params

    check_writable_target(args.output)
    clip = MotionClip.load(args.clip)
    params = export_flame_params(clip, args.model, args.output, args.arkit_from_ict)
    progress.result(output=str(Path(args.output).resolve()), frames=clip.n_frames,
                    expression_size=int(params["expression"].shape[1]))
    return 0


def _cmd_retarget(args: argparse.Namespace, progress: Progress) -> int:
    import json

    from .io.atomic import atomic_open, check_writable_target
    from .io.json_file import read_json
    from .motion.clip import MotionClip
    from .rigs.retarget import retarget_clip

    check_writable_target(args.output)
    clip = MotionClip.load(args.clip)
    names = read_json(args.shape_keys, "shape-key list")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise InputError(f"'{args.shape_keys}' must hold a JSON list of shape-key names.")
    result = retarget_clip(clip, names)
    if not result["targets"]:
        progress.warn("None of the shape keys has an ARKit or viseme name; nothing to animate. See docs/rigs.md "
                      "for the names that are recognised.")
    with atomic_open(args.output, "w") as f:
        json.dump(result, f, ensure_ascii=False)
    progress.result(output=str(Path(args.output).resolve()), scheme=result["scheme"],
                    mapped=len(result["targets"]), warnings=progress.warnings)
    return 0


def _cmd_render(args: argparse.Namespace, progress: Progress) -> int:
    from .render.job import check_render_output, render_video
    from .render.mesh_frames import frames_from_clip, frames_from_file

    if args.workers is not None and not 1 <= args.workers <= 64:
        raise InputError(f"--workers must be between 1 and 64 (got {args.workers}).")
    if not (args.motion or args.meshes or args.audio):
        raise InputError("Nothing to render: give --motion CLIP.json (from 'vividtalk animate'), --meshes MESHES.npz "
                         "(from Blender), or --audio VOICE to make the motion from the voice first.")
    to_video = check_render_output(args.output, args.size)  # before fitting the photo, not after
    rig = _portrait_rig(args, progress)
    voice = args.audio
    if args.motion:
        frames = frames_from_clip(_load_take(args.motion), rig)
    elif args.meshes:
        frames = frames_from_file(args.meshes, rig)
    else:  # the voice alone: its motion with every option at its default, as `animate` would make it
        from .pipeline import AnimateOptions, animate

        frames = frames_from_clip(animate(args.audio, AnimateOptions(), progress, _analyzer()), rig)
        voice = args.audio if to_video else None  # it made the motion: PNG frames lacking it is no news
    result = render_video(rig, frames, args.output, voice, args.size, args.device, progress, args.workers,
                          layered=args.background == "layers", interior=args.mouth)
    progress.result(output=result.output, frames=result.frames, duration=result.duration,
                    seconds=round(result.seconds, 3), audio=result.audio, warnings=progress.warnings)
    if progress.mode != "json":
        print(f"wrote {args.output}: {result.frames} frames ({result.duration:.2f} s) at {args.size}x{args.size}"
              f"{', with audio' if result.audio else ', no audio'}, in {result.seconds:.1f} s "
              f"({result.frames / max(result.seconds, 1e-9):.0f} frames/s)")
    return 0


def _cmd_serve(_args: argparse.Namespace, _progress: Progress) -> int:
    from .serve import serve

    return serve(main)


def _cmd_languages(_args: argparse.Namespace, _progress: Progress) -> int:
    from .audio import espeak

    codes = sorted(espeak.voices())
    print("English uses the CMU dictionary; every other language is read by espeak-ng and aligned with the "
          "English acoustic model. Codes accepted by --lang:")
    print(", ".join(codes))
    return 0


def _cmd_models(args: argparse.Namespace, progress: Progress) -> int:
    from .neural import models

    if args.action == "list":
        for name, (repo, what, licence) in models.KNOWN.items():
            print(f"{name:22} {what} (huggingface.co/{repo}, {licence})")
        progress.result(models=list(models.KNOWN))
        return 0
    if not args.target:
        raise InputError(f"vividtalk models {args.action} needs a "
                         f"{'folder' if args.action == 'check' else 'model name (vividtalk models list)'}.")
    if args.action == "fetch":
        progress.update("download", 0.0, args.target)
        folder = models.fetch(args.target, args.output_dir or Path("models") / args.target)
        progress.update("download", 1.0)
        report = models.check(folder, args.device, args.a2f_actor)
    else:
        report = models.check(args.target, args.device, args.a2f_actor)
    progress.result(output=report["folder"], **{k: v for k, v in report.items() if k != "folder"})
    if progress.mode != "json":
        for key, value in report.items():
            if key == "files":
                value = ", ".join(f"{n} ({size / 1e6:.1f} MB)" for n, size in value.items())
            print(f"{key:12} {value}")
        print(f"it runs here: {report['provider']} on {report['device']}")
    return 0


COMMANDS = {"animate": _cmd_animate, "batch": _cmd_batch, "head-style": _cmd_head_style,
            "export-csv": _cmd_export_csv, "demo": _cmd_demo, "rig": _cmd_rig, "export-flame": _cmd_export_flame,
            "retarget": _cmd_retarget, "render": _cmd_render, "serve": _cmd_serve, "languages": _cmd_languages,
            "models": _cmd_models}


def _raise_cancel(_signum, _frame):
    """A cancelling signal, raised as what Ctrl+C raises: a KeyboardInterrupt is not an ``Exception``, so no
    ``except Exception`` on the way (ours, a library's, the standard library's) swallows it. Raised as
    ``Cancelled`` it once landed inside ``Thread.start``, whose ``except Exception`` undid the start of a thread
    that was already running, and that thread's traceback reached the user; ``main`` turns it into ``Cancelled``."""
    raise KeyboardInterrupt


INPUT_ARGS = ("audio", "clip", "transcript", "image", "rig", "motion", "meshes", "model", "shape_keys", "flame",
              "arkit_from_ict", "fit")
OUTPUT_ARGS = ("output", "csv", "output_dir", "video")


def _check_outputs_spare_inputs(args: argparse.Namespace) -> None:
    """An output that is one of the inputs (or another output) would destroy it: refuse before any work."""
    def same_file(a: str, b: str) -> bool:
        try:
            return os.path.exists(a) and os.path.exists(b) and os.path.samefile(a, b)
        except OSError:
            return False

    def same(a: str, b: str) -> bool:
        return same_file(a, b) or os.path.abspath(a) == os.path.abspath(b)

    inputs = [(name, str(getattr(args, name))) for name in INPUT_ARGS if getattr(args, name, None)]
    outputs = [(name, str(getattr(args, name))) for name in OUTPUT_ARGS if getattr(args, name, None)]
    for i, (out_name, out) in enumerate(outputs):
        for in_name, path in inputs:
            if same_file(out, path) or (os.path.exists(path) and os.path.abspath(out) == os.path.abspath(path)):
                raise InputError(f"The output '{out}' is the {in_name.replace('_', ' ')} input; writing it would "
                                 "destroy the input. Choose another output name.")
        for other_name, other in outputs[i + 1:]:
            if same(out, other):
                raise InputError(f"--{out_name.replace('_', '-')} and --{other_name.replace('_', '-')} are the same "
                                 f"file '{out}'; give each its own name.")


def _quiet_broken_pipe() -> None:
    """The reader of our output went away (a closed pipe, a Blender that quit): stop without a traceback, and
    keep Python from complaining again when it flushes stdout at exit."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # one BLAS thread (set before numpy loads): its small solves fighting OpenCV's threads cost 3x on 2 cores
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    progress = Progress.for_cli(getattr(args, "progress", "auto"))
    # Ctrl+C and SIGTERM both cancel, whatever the parent set: a shell's background job starts with SIGINT
    # ignored, and Python would keep it that way
    # (and SIGHUP: a closed terminal must not leave temporary files behind)
    previous = {sig: signal.signal(sig, _raise_cancel) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    try:
        _check_outputs_spare_inputs(args)
        return COMMANDS[args.command](args, progress)
    except KeyboardInterrupt:
        err: VividtalkError = Cancelled("Cancelled.")
    except BrokenPipeError:
        _quiet_broken_pipe()
        err = Cancelled("Cancelled: the program reading vividtalk's output closed it.")
    except VividtalkError as e:
        err = e
    except MemoryError:
        err = InputError("Out of memory. Split the recording into shorter files.")
    except RecursionError:
        err = InputError("An input is nested far too deeply to be a file vividtalk reads.")
    except OSError as e:  # the disk filled or a folder vanished outside the atomic writers' reach
        err = OutputError(f"A file could not be written or read: {e.strerror or e}"
                          f"{f' ({e.filename})' if e.filename else ''}.")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    progress.error(str(err), err.exit_code)
    print(f"vividtalk: error: {err}", file=sys.stderr)
    return err.exit_code
