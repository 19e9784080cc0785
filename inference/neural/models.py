"""``vividtalk models``: say what a model folder holds and whether it will run here; download a known model
from the Hugging Face Hub."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError

# the models the product knows by name: Hugging Face repo, what it is, its licence
KNOWN = {
    "a2f-mark": ("nvidia/Audio2Face-3D-v2.3-Mark", "Audio2Face-3D v2.3 regression, actor Mark",
                 "NVIDIA Open Model License"),
    "a2f-claire": ("nvidia/Audio2Face-3D-v2.3.1-Claire", "Audio2Face-3D v2.3.1 regression, actor Claire",
                   "NVIDIA Open Model License"),
    "a2f-james": ("nvidia/Audio2Face-3D-v2.3.1-James", "Audio2Face-3D v2.3.1 regression, actor James",
                  "NVIDIA Open Model License"),
    "a2f-v3": ("nvidia/Audio2Face-3D-v3.0", "Audio2Face-3D v3.0 diffusion, actors Claire, James and Mark",
               "NVIDIA Open Model License"),
    "wav2vec2-espeak": ("facebook/wav2vec2-lv-60-espeak-cv-ft", "wav2vec2 large phoneme CTC, espeak IPA",
                        "Apache-2.0"),
    "wav2vec2-xlsr-espeak": ("facebook/wav2vec2-xlsr-53-espeak-cv-ft",
                             "wav2vec2 XLSR-53 phoneme CTC, espeak IPA (multilingual)", "Apache-2.0"),
}
CHECK_SECONDS = 1.0  # audio run through a model to prove it runs


def kind_of(folder: Path) -> str:
    """'a2f' or 'wav2vec2' by the files in ``folder``."""
    if not folder.is_dir():
        raise InputError(f"'{folder}' is not a folder.")
    if (folder / "network_info.json").is_file():
        return "a2f"
    if (folder / "config.json").is_file():
        return "wav2vec2"
    nested = sorted(p.parent for p in folder.glob("*/network_info.json")) or \
        sorted(p.parent for p in folder.glob("*/config.json"))
    hint = f" The model seems to be in '{nested[0]}'." if nested else ""
    raise InputError(f"'{folder}' holds neither an Audio2Face-3D model (network_info.json) nor a wav2vec2 model "
                     f"(config.json).{hint}")


def check(folder: str | Path, device: str = "auto", actor: str = "") -> dict[str, Any]:
    """Load the model in ``folder``, run a second of audio through it, and report what it is and where it ran.
    Raises InputError saying what is wrong."""
    root = Path(folder).expanduser()
    kind = kind_of(root)
    files = {p.name: p.stat().st_size for p in sorted(root.iterdir()) if p.is_file()}
    audio = np.zeros(int(CHECK_SECONDS * 16000), np.float32)
    if kind == "a2f":
        from .a2f_model import load_a2f_model
        from .a2f_runner import A2FRunner

        runner = A2FRunner(load_a2f_model(root, actor or None), device)
        m = runner.model
        frames = runner.run(audio, 30.0, int(CHECK_SECONDS * 30))
        session = runner.session
        pca = m.skin_matrix is not None
        return {"kind": f"Audio2Face-3D {m.kind} ({'v2.3' if pca else 'v3.0'})", "folder": str(root),
                "actor": m.actor, "identities": m.identities, "files": files,
                "inputs": {i.name: i.shape for i in session.get_inputs()},
                "outputs": {o.name: o.shape for o in session.get_outputs()},
                "skin": f"{m.skin_mean.size // 3} vertices" + (f" x {m.n_skin} PCA modes" if pca else " (deltas)"),
                "tongue": f"{m.tongue_mean.size // 3} vertices" + (f" x {m.n_tongue} PCA modes" if pca else ""),
                "poses": len(m.skin_blendshapes.pose_names), "emotions": m.emotion_names,
                "provider": runner.provider, "device": "cuda" if "CUDA" in runner.provider else "cpu",
                "ran": f"{len(frames.weights['jawOpen']) if 'jawOpen' in frames.weights else 0} frames"}
    from .wav2vec2_phones import PhoneModel

    model = PhoneModel(root, device)
    lp = model.log_probs(audio)
    return {"kind": "wav2vec2 phoneme CTC", "folder": str(root), "files": files,
            "vocabulary": len(model.vocab), "frame_ms": round(model.frame_s * 1000, 3),
            "layers": model.model.config.num_hidden_layers, "hidden_size": model.model.config.hidden_size,
            "provider": f"torch {model._torch.__version__}", "device": model.device, "ran": f"{len(lp)} frames"}


def fetch(name: str, destination: str | Path) -> Path:
    """Download a known model into ``destination`` and return the folder that holds it."""
    if name not in KNOWN:
        raise InputError(f"Unknown model '{name}'; known: {', '.join(KNOWN)}.")
    repo, _, licence = KNOWN[name]
    try:
        from huggingface_hub import snapshot_download
    except ImportError as e:
        raise InputError("Downloading models needs huggingface_hub: pip install -e '.[neural]'.") from e
    dest = Path(destination).expanduser()
    created = not dest.exists()
    dest.mkdir(parents=True, exist_ok=True)
    try:
        snapshot_download(repo_id=repo, local_dir=str(dest),
                          ignore_patterns=["*.h5", "*.msgpack", "*.ot", "*.trt", "*.md5", "flax_model*", "tf_model*"])
    except Exception as e:  # offline, gated, removed: huggingface_hub raises several kinds
        if created and not any(dest.iterdir()):
            dest.rmdir()  # ours and empty: leave no trace of a download that did not happen
        text = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        if "401" in text or "403" in text or "Gated" in text or "gated" in text:
            raise InputError(f"{repo} needs you to accept its licence ({licence}) on huggingface.co and to log in "
                             f"(huggingface-cli login) before it can be downloaded. ({text[:200]})") from e
        raise InputError(f"Could not download {repo} from the Hugging Face Hub ({text[:200]}). This machine may be "
                         f"offline: download https://huggingface.co/{repo} on one that is online and copy the folder "
                         "here, then pass it with --a2f-model or --phone-model.") from e
    for candidate in [dest, *sorted(p.parent for p in dest.rglob("network_info.json"))]:
        if (candidate / "network_info.json").is_file() or (candidate / "config.json").is_file():
            return candidate
    return dest
