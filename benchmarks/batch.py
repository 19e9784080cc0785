"""Batch speed: many short voice lines (2-8 s, espeak-voiced, with transcripts) through ``vividtalk batch``.

    python -m benchmarks.batch [--lines 1000] [--workers N]

Reports the whole batch in x real time and seconds per 1,000 lines (clip + Live Link CSV per line), a re-run
that finds every line done (the resume check), one warm line inside a worker, and a cold ``vividtalk animate``
of a 3 s line. The bars (issue "Thousands of voice lines"): batch >= 40x real time on 2 cores; warm 3 s line
<= 0.3 s; cold animate of a 3 s line <= 0.6 s.
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

    three = folder / "three.wav"
    text = "Please bring me the map before noon today."
    write_demo_voice(three, text)
    cold = [run("animate", str(three), "-t", text, "-o", str(folder / "cold.json"))[0] for _ in range(3)]
    print(f"cold `vividtalk animate` of a {_duration(three):.1f} s line: median {statistics.median(cold):.2f} s")

    from inference.batch.line_job import default_options, run_line, start_worker
    from inference.batch.manifest import BatchLine

    start_worker(default_options())
    line = BatchLine(1, three, text, outputs={"clip": folder / "warm.json"})
    run_line(line)
    warm = [run_line(line)[1] for _ in range(5)]
    print(f"warm line in a worker ({_duration(three):.1f} s): median {statistics.median(warm):.2f} s")


def _duration(path: Path) -> float:
    import soundfile as sf

    return sf.info(str(path)).duration


if __name__ == "__main__":
    main()
