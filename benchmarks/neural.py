"""Learned backends: seconds of compute per second of audio, with models of the real sizes and random weights.

    python -m benchmarks.neural [--seconds 20] [--device auto|cpu|cuda] [--skip-wav2vec2]

1. Audio2Face-3D v2.3 layout at Mark's sizes (tools/make_tiny_a2f.py --size real: skin 61,520 vertices x 272
   PCA modes, tongue 5,602 x 10, the 52-pose ARKit solve), its network replaced by one of the released
   network's cost: Audio2Face-3D's regression network (Training Framework, networks/conv_w2v_autocorr.py)
   runs wav2vec2-base's convolutional feature encoder and one transformer layer over each 8,320-sample window,
   then small convolutions; here that encoder and layer (random weights, transformers' Wav2Vec2Model) feed a
   linear head, exported to ONNX with the release's tensor names. Reported: folder load, network, and the
   post-processing + ARKit solve, each per second of audio, with the onnxruntime provider.
2. Audio2Face-3D v3.0 layout at its real sizes (24,002 skin vertices, given as deltas; 256-wide GRU state) with
   a trivial stand-in network: what the windowing, the state and the post-processing cost on their own.
3. wav2vec2 large phoneme CTC (tools/make_tiny_wav2vec2.py --size large: 24 layers, 1024 wide, 315 M
   parameters): model load, log-probabilities, and forced alignment of the transcript, per second of audio.

Real English speech from ../shared/data (its transcripts). Needs the neural extra.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.speed import english_speech


def export_network_of_real_cost(path: Path, result_size: int, emotion_size: int = 26) -> None:
    """An ONNX network with the released one's inputs, output and (roughly) its compute: wav2vec2-base's
    feature encoder and first transformer layer over the window, pooled, then a linear map to the result."""
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2Model

    class RegressionStandIn(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w2v = Wav2Vec2Model(Wav2Vec2Config(num_hidden_layers=1, mask_time_prob=0.0)).eval()
            self.head = torch.nn.Linear(768 + emotion_size, result_size)

        def forward(self, window: torch.Tensor, emotion: torch.Tensor) -> torch.Tensor:
            features = self.w2v(window[:, 0, :]).last_hidden_state.mean(dim=1)
            return self.head(torch.cat([features, emotion[:, 0, :]], dim=1))[:, None, :]

    torch.manual_seed(0)
    model = RegressionStandIn().eval()
    example = (torch.zeros(2, 1, 8320), torch.zeros(2, 1, emotion_size))
    torch.onnx.export(model, example, str(path), input_names=["input", "emotion"], output_names=["result"],
                      opset_version=14, dynamo=False,
                      dynamic_axes={"input": [0], "emotion": [0], "result": [0]})


def _timed_network(runner) -> dict[str, float]:
    """Time spent inside the network's session.run, collected while the runner works."""
    session_run = runner.session.run
    spent = {"network": 0.0}

    def timed_run(*args, **kwargs):
        t = time.perf_counter()
        out = session_run(*args, **kwargs)
        spent["network"] += time.perf_counter() - t
        return out

    runner.session.run = timed_run
    return spent


def bench_a2f(audio: np.ndarray, folder: Path, device: str) -> dict:
    from inference.neural.a2f_model import load_a2f_model
    from inference.neural.a2f_runner import A2FRunner
    from tools.make_tiny_a2f import make

    model_dir = make(folder / "a2f-real", "real")
    export_network_of_real_cost(model_dir / "network.onnx", load_a2f_model(model_dir).result_size)
    seconds = len(audio) / 16000
    started = time.perf_counter()
    runner = A2FRunner(load_a2f_model(model_dir), device)
    load_s = time.perf_counter() - started
    spent = _timed_network(runner)
    started = time.perf_counter()
    frames = runner.run(audio, 30.0, int(seconds * 30) + 1)
    total = time.perf_counter() - started
    return {"provider": runner.provider, "audio_s": round(seconds, 2), "load_s": round(load_s, 2),
            "network_s_per_s": round(spent["network"] / seconds, 4),
            "post_and_solve_s_per_s": round((total - spent["network"]) / seconds, 4),
            "total_s_per_s": round(total / seconds, 4), "jawOpen_max": round(float(frames.weights["jawOpen"].max()), 3)}


def bench_a2f_v3(audio: np.ndarray, folder: Path, device: str) -> dict:
    """v3.0 at its real sizes (24,002 skin vertices as deltas, 5,602 tongue, 256-wide GRU state, 60 frames per
    1 s window): the windowing, state and post-processing are measured; its network here is a trivial stand-in
    (the released one is a diffusion model, far heavier), so only the total minus the network means anything."""
    from inference.neural.a2f_model import load_a2f_model
    from inference.neural.a2f_runner import A2FRunner
    from tools.make_tiny_a2f import make

    model_dir = make(folder / "a2f-v3-real", "real", kind="diffusion")
    seconds = len(audio) / 16000
    started = time.perf_counter()
    runner = A2FRunner(load_a2f_model(model_dir, "mark"), device)
    load_s = time.perf_counter() - started
    spent = _timed_network(runner)
    started = time.perf_counter()
    runner.run(audio, 30.0, int(seconds * 30) + 1, seed=0)
    total = time.perf_counter() - started
    return {"provider": runner.provider, "audio_s": round(seconds, 2), "load_s": round(load_s, 2),
            "stand_in_network_s_per_s": round(spent["network"] / seconds, 4),
            "everything_else_s_per_s": round((total - spent["network"]) / seconds, 4)}


def bench_wav2vec2(audio: np.ndarray, text: str, folder: Path, device: str) -> dict:
    from inference.audio.languages import resolve
    from inference.neural.wav2vec2_phones import PhoneModel
    from tools.make_tiny_wav2vec2 import make

    model_dir = make(folder / "w2v-large", "large")
    seconds = len(audio) / 16000
    started = time.perf_counter()
    model = PhoneModel(model_dir, device)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    lp = model.log_probs(audio)
    forward_s = time.perf_counter() - started
    started = time.perf_counter()
    timing = model.align(lp, text, resolve("en"), seconds)
    align_s = time.perf_counter() - started
    return {"device": model.device, "provider": f"torch {model._torch.__version__}", "audio_s": round(seconds, 2),
            "parameters_m": round(sum(p.numel() for p in model.model.parameters()) / 1e6, 1),
            "load_s": round(load_s, 2), "forward_s_per_s": round(forward_s / seconds, 4),
            "align_s_per_s": round(align_s / seconds, 4), "phones": len(timing.phones) if timing else 0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--skip-wav2vec2", action="store_true")
    args = parser.parse_args()
    audio, text = english_speech(args.seconds)
    cut = int(args.seconds * 16000)
    words = text.split()
    text = " ".join(words[: max(1, int(len(words) * min(1.0, cut / len(audio))))])
    audio = audio[:cut]
    import os

    print(f"{os.cpu_count()} cores; {len(audio) / 16000:.1f} s of English speech")
    with tempfile.TemporaryDirectory() as tmp:
        report = {"a2f": bench_a2f(audio, Path(tmp), args.device)}
        print("Audio2Face-3D v2.3:", json.dumps(report["a2f"]))
        report["a2f_v3"] = bench_a2f_v3(audio, Path(tmp), args.device)
        print("Audio2Face-3D v3.0:", json.dumps(report["a2f_v3"]))
        if not args.skip_wav2vec2:
            report["wav2vec2"] = bench_wav2vec2(audio, text, Path(tmp), args.device)
            print("wav2vec2:", json.dumps(report["wav2vec2"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
