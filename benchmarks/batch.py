"""Batch speed: many short voice lines (2-8 s, espeak-voiced, with transcripts) through ``vividtalk batch``.

    python -m benchmarks.batch [--lines 1000] [--workers N] [--ray]

Reports the whole batch in x real time and seconds per 1,000 lines (clip + Live Link CSV per line), a re-run
that finds every line done (the resume check), a 3 s line warm (inside a batch worker, and through
``vividtalk serve`` as the add-on runs it) and cold (``vividtalk animate``): a GRID clip from ../shared/data
when it is there, else an espeak line. ``--ray`` also runs the lines on a local Ray head with two CPUs and
compares every output with the local batch's, byte for byte. The bars (issue "Thousands of voice lines"):
batch >= 40x real time on 2 cores; warm 3 s line <= 0.3 s; cold animate of a 3 s line <= 0.6 s.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from inference.demo import write_demo_voice

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
WORDS = ("the quick brown fox jumps over a lazy dog while seven bright pilots bring maps to the harbour before "
         "noon and my sister waves from her small house by the river where children play with yellow kites "
         "every summer evening").split()


def make_lines(folder: Path, n: int) -> Path:
    """``n`` lines of 5-20 words (about 2-8 s), voiced by espeak-ng, and the manifest that asks for them."""
    rng = np.random.default_rng(0)
    manifest = folder / "lines.csv"
    with open(manifest, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["audio", "transcript", "clip", "csv"])
        for i in range(n):
            start = int(rng.integers(0, len(WORDS) - 20))
            text = " ".join(WORDS[start:start + int(rng.integers(5, 21))]).capitalize() + "."
            write_demo_voice(folder / f"line{i:05d}.wav", text)
            writer.writerow([f"line{i:05d}.wav", text, f"out/line{i:05d}.json", f"out/line{i:05d}.csv"])
    (folder / "out").mkdir(exist_ok=True)
    return manifest


def run(*args: str) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "inference", *args], capture_output=True, text=True)
    return time.perf_counter() - started, done


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1000)
    ap.add_argument("--workers", type=int)
    ap.add_argument("--ray", action="store_true", help="also run the lines on a local Ray head and compare")
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="vividtalk_batch_bench_"))
    manifest = make_lines(folder, args.lines)
    workers = ["--workers", str(args.workers)] if args.workers else []

    seconds, done = run("batch", str(manifest), "--progress", "json", *workers)
    result = json.loads(done.stdout.splitlines()[-1])
    audio = result["audio_seconds"]
    print(f"{args.lines} lines, {audio:.0f} s of speech: {seconds:.1f} s end to end, {audio / seconds:.1f}x real "
          f"time, {seconds / args.lines * 1000:.0f} s per 1,000 lines ({result['done']} done, {result['failed']} "
          f"failed, {len(result['warnings'])} warnings)")
    seconds, done = run("batch", str(manifest), "--progress", "json", *workers)
    result = json.loads(done.stdout.splitlines()[-1])
    print(f"re-run, every line already done: {seconds:.2f} s ({result['skipped']} skipped)")

    if args.ray:
        ray_check(folder, manifest)

    three, text = _three_second_line(folder)
    cold = [run("animate", str(three), "-t", text, "-o", str(folder / "cold.json"))[0] for _ in range(3)]
    print(f"cold `vividtalk animate` of {three.name} ({_duration(three):.1f} s): median "
          f"{statistics.median(cold):.2f} s")

    from inference.batch.line_job import default_options, run_line, start_worker
    from inference.batch.manifest import BatchLine

    start_worker(default_options())
    line = BatchLine(1, three, text, outputs={"clip": folder / "warm.json"})
    run_line(line)
    warm = [run_line(line)[1] for _ in range(5)]
    print(f"warm, in a batch worker: median {statistics.median(warm):.2f} s")
    requests = "".join(json.dumps({"id": i, "args": ["animate", str(three), "-t", text, "-o",
                                                     str(folder / f"serve{i}.json")]}) + "\n" for i in range(6))
    served = subprocess.run([sys.executable, "-m", "inference", "serve"], input=requests, capture_output=True,
                            text=True)
    seconds = [json.loads(x)["seconds"] for x in served.stdout.splitlines() if '"result"' in x][1:]
    print(f"warm, through `vividtalk serve` (the add-on's engine): median {statistics.median(seconds):.2f} s")


def ray_check(folder: Path, manifest: Path) -> None:
    """The same lines on a local Ray head (2 CPUs): time, and every output the same bytes as the local batch's."""
    import os

    ray_cli = str(Path(sys.executable).with_name("ray"))
    env = dict(os.environ, RAY_AUTH_MODE="disabled", RAY_ADDRESS="127.0.0.1:6399")
    subprocess.run([ray_cli, "start", "--head", "--node-ip-address=127.0.0.1", "--port=6399", "--num-cpus=2",
                    "--include-dashboard=false", "--disable-usage-stats"], check=True, capture_output=True, env=env)
    try:
        remote = folder / "ray_lines.csv"
        remote.write_text(manifest.read_text(encoding="utf-8").replace(",out/", ",ray/"), encoding="utf-8")
        (folder / "ray").mkdir(exist_ok=True)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "inference", "batch", str(remote), "--cluster", "ray",
                               "--progress", "json"], capture_output=True, text=True, env=env)
        seconds = time.perf_counter() - started
        result = json.loads(done.stdout.splitlines()[-1])
        local = sorted((folder / "out").iterdir())
        same = sum((folder / "ray" / p.name).read_bytes() == p.read_bytes() for p in local)
        print(f"on a local Ray head (2 CPUs): {seconds:.1f} s, {result['done']} done, {result['failed']} failed; "
              f"{same} of {len(local)} outputs byte-identical to the local batch's")
    finally:
        subprocess.run([ray_cli, "stop", "--force"], capture_output=True, env=env)


def _three_second_line(folder: Path) -> tuple[Path, str]:
    grid = SHARED / "video" / "bbaf2n.wav"
    if grid.is_file():
        return grid, grid.with_suffix(".txt").read_text(encoding="utf-8").strip()
    text = "Please bring me the map before noon today."
    write_demo_voice(folder / "three.wav", text)
    return folder / "three.wav", text


def _duration(path: Path) -> float:
    import soundfile as sf

    return sf.info(str(path)).duration


if __name__ == "__main__":
    main()
