"""``vividtalk batch --cluster ray``: the same lines as Ray tasks on a cluster (a local head on 127.0.0.1, started
and stopped here) give the local batch's clips byte for byte, and a worker killed mid-batch loses nothing."""

from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from inference.demo import write_demo_voice

ray = pytest.importorskip("ray", reason="Ray is the optional cluster extra (pip install 'vividtalk[ray]')")

TEXTS = ("Bring the blue map before noon.", "My brother paints boats by the bay.", "Please buy more bread and milk.",
         "We met him at the museum.", "The pilot moved the plane slowly.", "Maybe the baby wants a warm bath.")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster():
    """A Ray head on this machine with two CPUs; its address for RAY_ADDRESS."""
    ray_cli = str(Path(sys.executable).with_name("ray"))
    env = dict(os.environ, RAY_AUTH_MODE="disabled")  # a throwaway cluster on the loopback interface
    address = f"127.0.0.1:{_free_port()}"
    start = subprocess.run([ray_cli, "start", "--head", "--node-ip-address=127.0.0.1",
                            f"--port={address.split(':')[1]}", "--num-cpus=2", "--include-dashboard=false",
                            "--disable-usage-stats"], capture_output=True, text=True, env=env, timeout=180)
    if start.returncode != 0:
        pytest.fail(f"could not start a local Ray head: {start.stderr[-800:]}")
    try:
        yield address, env
    finally:
        subprocess.run([ray_cli, "stop", "--force"], capture_output=True, env=env, timeout=120)


@pytest.fixture(scope="module")
def lines(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ray_lines")
    with open(folder / "local.csv", "w", newline="", encoding="utf-8") as local, \
            open(folder / "ray.csv", "w", newline="", encoding="utf-8") as remote:
        a, b = csv.writer(local), csv.writer(remote)
        for w in (a, b):
            w.writerow(["audio", "transcript", "clip", "csv"])
        for i in range(18):
            text = TEXTS[i % len(TEXTS)]
            write_demo_voice(folder / f"l{i:02d}.wav", text)
            a.writerow([f"l{i:02d}.wav", text, f"local/l{i:02d}.json", f"local/l{i:02d}.csv"])
            b.writerow([f"l{i:02d}.wav", text, f"ray/l{i:02d}.json", f"ray/l{i:02d}.csv"])
    (folder / "local").mkdir()
    (folder / "ray").mkdir()
    done = subprocess.run([sys.executable, "-m", "inference", "batch", str(folder / "local.csv")],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return folder


def _line_task_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if b"ray::_line_task" in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def test_a_worker_killed_mid_batch_loses_nothing_and_the_clips_match_the_local_batch(cluster, lines):
    address, env = cluster
    batch = subprocess.Popen([sys.executable, "-m", "inference", "batch", str(lines / "ray.csv"), "--cluster", "ray"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=dict(env, RAY_ADDRESS=address))
    killed = False
    deadline = time.monotonic() + 300
    while batch.poll() is None and time.monotonic() < deadline and not killed:
        if len(list((lines / "ray").glob("*.json"))) >= 2:
            for pid in _line_task_pids()[:1]:
                os.kill(pid, signal.SIGKILL)
                killed = True
        time.sleep(0.02)
    out, err = batch.communicate(timeout=600)
    assert batch.returncode == 0, err[-2000:]
    assert killed, "no Ray worker was found running a line to kill"
    assert "18 lines: 18 done" in out
    for local in sorted((lines / "local").iterdir()):
        assert (lines / "ray" / local.name).read_bytes() == local.read_bytes(), local.name


def test_no_cluster_there_is_a_clear_message(lines, tmp_path):
    env = dict(os.environ, RAY_ADDRESS=f"127.0.0.1:{_free_port()}", RAY_AUTH_MODE="disabled")
    done = subprocess.run([sys.executable, "-m", "inference", "batch", str(lines / "ray.csv"), "--cluster", "ray",
                           "--redo", "--report", str(tmp_path / "r.csv")], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 2 and "Could not join the Ray cluster" in done.stderr
    bad = subprocess.run([sys.executable, "-m", "inference", "batch", str(lines / "ray.csv"), "--cluster", "spark"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "not a cluster vividtalk knows" in bad.stderr
