"""``vividtalk batch --cluster ray[://ADDRESS]``: the manifest's lines as Ray tasks on a cluster the studio
already runs (Ray is an optional extra: ``pip install 'vividtalk[ray]'``).

The driver (the machine running ``vividtalk batch``) reads each line's inputs and ships them with the task, and
writes each output it gets back to the manifest's path, atomically: workers need the engine installed but no
shared storage, and a worker that dies leaves nothing half-written. Ray re-runs a task whose worker died
(``RETRIES`` times); a line that still fails is reported like any other. Each task takes one CPU and runs on a
warm engine (one per worker process, kept between tasks), so results are the same as the local batch's, byte
for byte.
"""

from __future__ import annotations

import functools
import os
import socket
import tempfile
from pathlib import Path
from typing import IO, Any

from ..errors import InputError, VividtalkError
from ..io.atomic import atomic_write_bytes
from .line_job import DONE, FAILED, LineResult, LineWorker, exit_class, transcript_of
from .manifest import BatchLine

RETRIES = 3
CONNECT_TIMEOUT_S = 10.0
OUTPUT_SUFFIX = {"clip": ".json", "csv": ".csv", "mp4": ".mp4"}


def cluster_address(spec: str) -> str:
    """``ray`` (the cluster this machine belongs to, or $RAY_ADDRESS) -> "auto"; ``ray://HOST:PORT`` (Ray Client)
    as given."""
    if spec == "ray":
        return "auto"
    if spec.startswith("ray://") and len(spec) > len("ray://"):
        return spec
    raise InputError(f"--cluster '{spec}' is not a cluster vividtalk knows; use 'ray' (the Ray cluster this machine "
                     "belongs to, or $RAY_ADDRESS) or 'ray://HOST:PORT' (a Ray Client address).")


def run_on_ray(todo: list[BatchLine], defaults: dict[str, Any], address: str, record) -> None:
    """Every line of ``todo`` as a task; ``record(line, result)`` as each finishes (outputs already written)."""
    ray = _import_ray()
    _check_reachable(address)
    try:
        ray.init(address=address, log_to_driver=False, configure_logging=False)
    except Exception as e:  # ConnectionError, RuntimeError, auth errors: all mean no usable cluster there
        raise InputError(f"Could not join the Ray cluster at '{address}' ({type(e).__name__}: {e}). Start one with "
                         "`ray start --head`, set $RAY_ADDRESS, or pass --cluster ray://HOST:PORT.") from None
    try:
        task = ray.remote(num_cpus=1, max_retries=RETRIES)(_line_task)
        styles = LineWorker(defaults)  # learns the head styles of reference videos, once each
        window = max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))
        queue = list(reversed(todo))
        pending: dict[Any, BatchLine] = {}  # Ray's object reference of each line's task
        try:
            while queue or pending:
                while queue and len(pending) < window:
                    line = queue.pop()
                    payload, problem = _payload(line, styles)
                    if problem is not None:
                        record(line, problem)
                        continue
                    pending[task.remote(payload, defaults)] = line
                if not pending:
                    continue
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    line = pending.pop(ref)
                    record(line, _collect(ray, ref, line))
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise
    finally:
        ray.shutdown()


def _check_reachable(address: str) -> None:
    """Ray keeps retrying an address nobody answers at for minutes; a closed port is reported at once."""
    target = os.environ.get("RAY_ADDRESS", "") if address == "auto" else address
    host, _, port = target.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # "auto" without $RAY_ADDRESS: Ray looks for a cluster on this machine and says if there is none
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as e:
        raise InputError(f"Could not join the Ray cluster at '{target}': nothing answers there ({e.strerror or e}). "
                         "Start one with `ray start --head`, or check $RAY_ADDRESS / --cluster ray://HOST:PORT.") \
            from None


def _import_ray():
    try:
        import ray
    except ImportError:
        raise InputError("--cluster ray needs Ray: pip install 'vividtalk[ray]' (on the cluster's nodes too).") \
            from None
    return ray


def _payload(line: BatchLine, styles: LineWorker) -> tuple[dict[str, Any], LineResult | None]:
    """What the task needs, read here so the workers need no shared storage (a reference video's head style
    learned here, once per video); or the line's failure."""
    try:
        transcript = transcript_of(line)
        audio = _read(line.voice, "audio file")
        rig = _read(line.rig, "rig or photo") if line.rig else None
        style = styles.head_style(line.head_from) if line.head_from else None
    except VividtalkError as e:
        return {}, LineResult(line.number, line.label, FAILED, exit_class(e.exit_code), str(e))
    return {"number": line.number, "label": line.label, "audio": (line.voice.suffix, audio),
            "recorded_audio": str(line.voice.resolve()), "transcript": transcript, "options": line.options,
            "rig": (line.rig.suffix, rig) if line.rig and rig is not None else None, "outputs": sorted(line.outputs),
            "head_style": style}, None


def _write_into(f: IO[bytes], data: bytes) -> None:
    f.write(data)


def _read(path: Path | None, what: str) -> bytes:
    if path is None or not path.is_file():
        raise InputError(f"The {what} '{path}' does not exist; check the path.")
    try:
        return path.read_bytes()
    except OSError as e:
        raise InputError(f"Cannot read the {what} '{path}': {e.strerror}.") from None


def _collect(ray, ref, line: BatchLine) -> LineResult:
    try:
        result, outputs = ray.get(ref)
    except Exception as e:  # its worker died more than RETRIES times, or Ray itself failed
        return LineResult(line.number, line.label, FAILED, "internal_error", f"on the Ray cluster: {e}")
    try:
        for kind, data in outputs.items():
            atomic_write_bytes(line.outputs[kind], functools.partial(_write_into, data=data))
    except VividtalkError as e:
        return LineResult(line.number, line.label, FAILED, exit_class(e.exit_code), str(e))
    return result


_workers: dict[str, Any] = {}


def _line_task(payload: dict[str, Any], defaults: dict[str, Any]) -> tuple[LineResult, dict[str, bytes]]:
    """Runs in a Ray worker: the line on copies of its inputs in a temporary folder; its outputs come back as
    bytes (only when the line is done)."""
    from ..cores import take_share

    take_share(1)  # the task holds one CPU: no parallel pieces inside it
    worker = _workers.get("engine")
    if worker is None or worker.defaults != defaults:
        worker = _workers["engine"] = LineWorker(defaults)
    with tempfile.TemporaryDirectory(prefix="vividtalk_ray_") as tmp:
        folder = Path(tmp)
        suffix, data = payload["audio"]
        audio = folder / f"audio{suffix}"
        audio.write_bytes(data)
        rig = None
        if payload["rig"] is not None:
            rig = folder / f"rig{payload['rig'][0]}"
            rig.write_bytes(payload["rig"][1])
        outputs = {kind: folder / f"out{OUTPUT_SUFFIX[kind]}" for kind in payload["outputs"]}
        line = BatchLine(payload["number"], audio, payload["transcript"], None, payload["options"], rig, outputs,
                         recorded_audio=payload["recorded_audio"], head_style=payload["head_style"])
        result = worker.run(line)
        # messages name the files as the manifest does, not this worker's copies
        result.label = payload["label"]
        result.message = result.message.replace(str(audio), payload["label"])
        result.warnings = [w.replace(str(audio), payload["label"]) for w in result.warnings]
        data = {kind: p.read_bytes() for kind, p in outputs.items()} if result.status == DONE else {}
    return result, data
