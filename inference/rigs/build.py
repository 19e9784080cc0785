"""One entry point that makes any supported rig, for the CLI and the Blender add-on (through the CLI)."""

from __future__ import annotations

import os

import numpy as np

from ..errors import InputError
from ..io.atomic import atomic_write_bytes
from .rig import FaceRig, clip_channels

RIG_KINDS = ("portrait", "ict", "flame")


def arkit_source(ict_dir: str | os.PathLike | None) -> FaceRig:
    """The rig whose ARKit shapes FLAME's mapping is fitted to: ICT-FaceKit if given, else the built-in face."""
    if ict_dir:
        from .ict import load_ict_rig

        return load_ict_rig(ict_dir)
    from .portrait import default_portrait_rig

    return default_portrait_rig()


def build_rig(kind: str, path: str | os.PathLike | None = None, ict_dir: str | os.PathLike | None = None,
              photo: str | os.PathLike | None = None) -> FaceRig:
    """``portrait`` (a photo, or the built-in face when ``path`` is empty), ``ict`` (an ICT-FaceKit checkout, or
    the head that ships with vividtalk when ``path`` is empty; shaped like the face in ``photo`` if given) or
    ``flame``
    (a model file; its ARKit mapping is fitted against ``ict_dir`` or the built-in face)."""
    if kind == "portrait":
        from .portrait import default_portrait_rig, portrait_rig_from_file

        return portrait_rig_from_file(path) if path else default_portrait_rig()
    if kind == "ict":
        from .ict import load_ict_rig

        return load_ict_rig(path or None, photo)
    if kind == "flame":
        from .flame import fit_arkit_mapping, flame_rig, load_flame

        if not path:
            raise InputError("A FLAME rig needs the model file (FLAME 2020/2023 .pkl or .npz).")
        model = load_flame(path)
        return flame_rig(model, fit_arkit_mapping(model, arkit_source(ict_dir)))
    raise InputError(f"Unknown rig kind '{kind}'; choose one of {', '.join(RIG_KINDS)}.")


def export_flame_params(clip, model_path: str | os.PathLike, output: str | os.PathLike,
                        ict_dir: str | os.PathLike | None = None) -> dict[str, np.ndarray]:
    """FLAME parameters per frame (research layout) for a motion clip, written as .npz."""
    from .flame import fit_arkit_mapping, flame_rig, load_flame, params_from_channels

    model = load_flame(model_path)
    mapping = fit_arkit_mapping(model, arkit_source(ict_dir))
    rig = flame_rig(model, mapping)
    params = params_from_channels(mapping, clip_channels(clip), clip.n_frames, rig)
    params |= {
        "shape": np.zeros(model.shapedirs.shape[2]), "fps": np.array(clip.fps),
        "arkit_names": np.array(mapping.channels), "arkit_to_expression": mapping.matrix,
        "jaw_degrees_per_jawOpen": np.array(mapping.jaw_degrees),
    }
    atomic_write_bytes(output, lambda f: np.savez(f, **params))
    return params
