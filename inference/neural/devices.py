"""Where a learned backend runs: ``--device auto|cuda|cpu`` to onnxruntime providers and torch devices."""

from __future__ import annotations

from ..errors import InputError

DEVICES = ("auto", "cuda", "cpu")


def onnx_providers(device: str, available: list[str]) -> list[str]:
    """The providers to ask onnxruntime for: CUDA first where asked for (or, with auto, where present)."""
    device = _checked(device)
    has_cuda = "CUDAExecutionProvider" in available
    if device == "cuda" and not has_cuda:
        raise InputError("--device cuda: this onnxruntime has no CUDA provider (it has "
                         f"{', '.join(available)}). Install onnxruntime-gpu instead of onnxruntime on a machine "
                         "with an NVIDIA GPU and CUDA 12, or use --device cpu.")
    if device == "cpu" or not has_cuda:
        return ["CPUExecutionProvider"]
    return ["CUDAExecutionProvider", "CPUExecutionProvider"]


def torch_device(device: str) -> str:
    """'cuda' or 'cpu' for torch, checking that CUDA is really there when asked for."""
    import torch

    device = _checked(device)
    if device == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: torch sees no CUDA GPU (this torch is "
                         f"{torch.__version__}). Install a CUDA build of torch, or use --device cpu.")
    return "cuda" if device == "cuda" or (device == "auto" and torch.cuda.is_available()) else "cpu"


def _checked(device: str) -> str:
    device = (device or "auto").strip().lower()
    if device not in DEVICES:
        raise InputError(f"--device '{device}' is not one of {', '.join(DEVICES)}.")
    return device
