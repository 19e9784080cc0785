"""An NVIDIA Audio2Face-3D model folder (v2.3 / v2.3.1 regression, v3.0 diffusion), read as the release ships it.

The files (see shared notes/learned_backends.md and the SDK's parse_helper.cpp): ``model.json`` names the
others (optional here: the default names are used without it); ``network_info.json`` gives every size;
``network.onnx``; ``model_config.json`` (animator parameters, the implicit-emotion shot and frame);
``model_data.npz`` (PCA bases and neutral poses); ``implicit_emo_db.npz``; ``bs_skin.npz`` +
``bs_skin_config.json`` (the ARKit solve); ``bs_tongue.npz`` + ``bs_tongue_config.json``. A v3.0 folder has one
model config, model data and blendshape set per identity (``model_config_<actor>.json``, ...; Training
Framework deploy.py), no PCA (its network gives vertex deltas) and no implicit emotions. No size is
hard-coded: they differ per actor. Every mismatch between the files becomes an InputError naming the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .model_files import count, field, inside, names, need, read_json, read_npz

REMEDY = ("Download the whole model folder (e.g. 'vividtalk models fetch a2f-mark' or the Hugging Face repo "
          "nvidia/Audio2Face-3D-v2.3-Mark) and pass the folder that holds network_info.json.")
DEFAULT_FILES = {"networkInfoPath": "network_info.json", "networkPath": "network.onnx",
                 "emotionDatabasePath": "implicit_emo_db.npz", "modelConfigPath": "model_config.json",
                 "modelDataPath": "model_data.npz"}
DEFAULT_BLENDSHAPES = {"skin": {"config": "bs_skin_config.json", "data": "bs_skin.npz"},
                       "tongue": {"config": "bs_tongue_config.json", "data": "bs_tongue.npz"}}
MODEL_DATA_KEYS = ("shapes_matrix_skin", "shapes_mean_skin", "lip_open_pose_delta", "eye_close_pose_delta",
                   "shapes_matrix_tongue", "shapes_mean_tongue", "neutral_jaw", "saccade_rot_matrix")
DIFFUSION_DATA_KEYS = ("neutral_skin", "lip_open_pose_delta", "eye_close_pose_delta", "neutral_tongue",
                       "neutral_jaw", "saccade_rot_matrix")
ANIMATOR_KEYS = ("input_strength", "upper_face_smoothing", "lower_face_smoothing", "upper_face_strength",
                 "lower_face_strength", "face_mask_level", "face_mask_softness", "skin_strength", "blink_strength",
                 "lower_teeth_strength", "lower_teeth_height_offset", "lower_teeth_depth_offset", "lip_open_offset",
                 "tongue_strength", "tongue_height_offset", "tongue_depth_offset", "eyeballs_strength",
                 "saccade_strength", "right_eye_rot_x_offset", "right_eye_rot_y_offset", "left_eye_rot_x_offset",
                 "left_eye_rot_y_offset", "eyelid_open_offset", "eye_saccade_seed")
DEFAULT_TEMPLATE_BB_SIZE = 54.7  # the SDK's kDefaultTemplateBBSize, for configs that do not give one


@dataclass(frozen=True)
class SolveConfig:
    """``bs_*_config.json``'s ``blendshape_params``: the regularisation and the per-pose settings."""

    l1: float
    l2: float
    temporal: float
    symmetry: float
    template_bb_size: float
    active: np.ndarray  # bool per pose
    cancel: np.ndarray  # pair ids (-1: none)
    symmetric: np.ndarray  # pair ids (-1: none)
    multipliers: np.ndarray
    offsets: np.ndarray


@dataclass(frozen=True)
class BlendshapeSet:
    """A ``bs_*.npz``: the neutral (absolute positions) and one delta per named pose, flattened x,y,z."""

    pose_names: list[str]
    neutral: np.ndarray  # (3V,)
    deltas: np.ndarray  # (P, 3V)
    mask: np.ndarray | None  # vertex indices the solve looks at (frontalMask), or None for all
    config: SolveConfig


@dataclass(frozen=True)
class DiffusionParams:
    """v3.0's streaming: windows of ``buffer_len`` samples give left + center + right frames; the center ones
    are kept, windows step by the center's length, a GRU state is carried from one window to the next."""

    steps: int  # diffusion steps (the GRU state has one slice per step and layer)
    gru_layers: int
    gru_size: int
    left: int
    center: int
    right: int
    padding_left: int  # samples of silence before the audio: the first kept frame falls on its start

    @property
    def frames(self) -> int:
        return self.left + self.center + self.right


@dataclass(frozen=True)
class A2FModel:
    folder: Path
    network_path: Path
    kind: str  # "regression" (v2.3, v2.3.1) or "diffusion" (v3.0)
    actor: str
    identities: list[str]  # the identities a diffusion network knows (its one-hot input), in order
    emotion_names: list[str]  # the explicit emotions, in the network's order
    default_emotion: np.ndarray
    implicit_emotion: np.ndarray  # regression: the implicit_emo_db row of model_config's shot/frame; else empty
    buffer_len: int
    buffer_offset: int  # regression: where in the window its output frame sits
    sample_rate: int
    n_skin: int  # skin values in the network's output: PCA coefficients, or (diffusion) vertex deltas x 3
    n_tongue: int
    jaw_size: int
    eyes_size: int
    animator: dict[str, float]  # model_config's config (input strength, strengths, offsets, smoothing)
    skin_matrix: np.ndarray | None  # (n_skin, 3V) PCA basis; None where the network gives vertex deltas
    skin_mean: np.ndarray  # (3V,) the neutral skin
    lip_open_delta: np.ndarray
    eye_close_delta: np.ndarray
    tongue_mean: np.ndarray
    neutral_jaw: np.ndarray  # (points, 3)
    saccades: np.ndarray  # (frames, 2) degrees
    skin_blendshapes: BlendshapeSet
    tongue_blendshapes: BlendshapeSet | None
    diffusion: DiffusionParams | None = None

    @property
    def result_size(self) -> int:
        return self.n_skin + self.n_tongue + self.jaw_size + self.eyes_size

    @property
    def emotion_size(self) -> int:
        return len(self.implicit_emotion) + len(self.emotion_names)


def load_a2f_model(folder: str | Path, actor: str | None = None) -> A2FModel:
    """Read and cross-check a model folder (no network is run here; see a2f_runner.py). ``actor`` picks one
    of a v3.0 model's identities (default: the first); a regression model has one."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise InputError(f"The Audio2Face-3D model folder '{root}' does not exist or is not a folder. {REMEDY}")
    listed: dict = {}
    if (root / "model.json").is_file():
        listed = read_json(root / "model.json", "model index")
    info_path = need(inside(root, listed.get("networkInfoPath", "network_info.json"), "network info"),
                     "network_info.json", REMEDY)
    info = read_json(info_path, "network info")
    kind = field(info, info_path, "id", "type", kind=str)
    if kind not in ("regression", "diffusion"):
        raise InputError(f"'{info_path}' describes a '{kind}' network; Audio2Face-3D regression (v2.3, v2.3.1) "
                         "and diffusion (v3.0) models run here.")
    if field(info, info_path, "id", "output", kind=str) != "geometry":
        raise InputError(f"'{info_path}' describes a network whose output is not geometry.")
    params = field(info, info_path, "params", kind=dict)
    audio = field(info, info_path, "audio_params", kind=dict)
    emotion_key = "explicit_emotions" if kind == "regression" else "emotions"
    emotion_names = field(info, info_path, "params", emotion_key, kind=list)
    default_emotion = field(info, info_path, "params", "default_emotion", kind=list)
    if len(emotion_names) != len(default_emotion) or not all(isinstance(n, str) for n in emotion_names):
        raise InputError(f"'{info_path}': {emotion_key} and default_emotion do not match.")
    buffer_len = count(audio.get("buffer_len"), info_path, "audio_params.buffer_len", 1, 1_000_000)
    sample_rate = count(audio.get("samplerate"), info_path, "audio_params.samplerate", 8000, 192000)
    if kind == "regression":
        identities = [str(info.get("id", {}).get("actor", ""))]
        n_skin = count(params.get("num_shapes_skin"), info_path, "params.num_shapes_skin", 1)
        n_tongue = count(params.get("num_shapes_tongue"), info_path, "params.num_shapes_tongue")
        skin_size = 3 * count(params.get("num_verts_skin"), info_path, "params.num_verts_skin", 1)
        tongue_size = 3 * count(params.get("num_verts_tongue"), info_path, "params.num_verts_tongue")
        jaw_size = count(params.get("result_jaw_size"), info_path, "params.result_jaw_size")
        eyes_size = count(params.get("result_eyes_size"), info_path, "params.result_eyes_size")
        buffer_offset = count(audio.get("buffer_ofs"), info_path, "audio_params.buffer_ofs", 0, buffer_len)
        diffusion = None
    else:
        identities = field(info, info_path, "params", "identities", kind=list)
        if not identities or not all(isinstance(n, str) for n in identities):
            raise InputError(f"'{info_path}': params.identities must list the actors' names.")
        skin_size = n_skin = count(params.get("skin_size"), info_path, "params.skin_size", 3)
        tongue_size = n_tongue = count(params.get("tongue_size"), info_path, "params.tongue_size")
        jaw_size = count(params.get("jaw_size"), info_path, "params.jaw_size")
        eyes_size = count(params.get("eyes_size"), info_path, "params.eyes_size")
        buffer_offset = 0
        diffusion = DiffusionParams(
            steps=count(params.get("num_diffusion_steps"), info_path, "params.num_diffusion_steps", 1, 1000),
            gru_layers=count(params.get("num_gru_layers"), info_path, "params.num_gru_layers", 1, 100),
            gru_size=count(params.get("gru_latent_dim"), info_path, "params.gru_latent_dim", 1, 100_000),
            left=count(params.get("num_frames_left_truncate"), info_path, "params.num_frames_left_truncate"),
            center=count(params.get("num_frames_center"), info_path, "params.num_frames_center", 1, 10_000),
            right=count(params.get("num_frames_right_truncate"), info_path, "params.num_frames_right_truncate"),
            padding_left=count(audio.get("padding_left"), info_path, "audio_params.padding_left", 0, buffer_len))
        if skin_size % 3 or tongue_size % 3:
            raise InputError(f"'{info_path}': skin_size and tongue_size must be vertex positions (x, y, z).")
    if jaw_size % 3 or eyes_size not in (0, 4):
        raise InputError(f"'{info_path}': a jaw size of {jaw_size} (anchor points x 3) or an eyes size of "
                         f"{eyes_size} (4) is not what an Audio2Face-3D network gives.")
    chosen = _identity(identities, actor, info_path)
    files, shapes = _file_names(root, listed, kind, identities, chosen)

    config_path = need(files["modelConfigPath"], files["modelConfigPath"].name, REMEDY)
    config = read_json(config_path, "model config")
    animator = {k: float(field(config, config_path, "config", k, kind=(int, float))) for k in ANIMATOR_KEYS}
    for name, value in animator.items():
        if not np.isfinite(value):
            raise InputError(f"'{config_path}': config.{name} is not a finite number.")
    if animator["face_mask_softness"] <= 0:
        raise InputError(f"'{config_path}': face_mask_softness must be above 0.")

    data_path = need(files["modelDataPath"], files["modelDataPath"].name, REMEDY)
    data = read_npz(data_path, "Audio2Face-3D model data")
    keys = MODEL_DATA_KEYS if kind == "regression" else DIFFUSION_DATA_KEYS
    missing = [k for k in keys if k not in data]
    if missing:
        raise InputError(f"'{data_path}' lacks {', '.join(missing)}: it is not a {kind} model's data (another "
                         "model version, or a damaged download).")
    flat = {k: np.asarray(data[k], np.float32).reshape(-1) for k in keys}
    neutral_skin, neutral_tongue = ("shapes_mean_skin", "shapes_mean_tongue") if kind == "regression" else \
        ("neutral_skin", "neutral_tongue")
    for key in (neutral_skin, "lip_open_pose_delta", "eye_close_pose_delta"):
        _expect(data_path, key, flat, skin_size, "the skin's vertex positions")
    _expect(data_path, neutral_tongue, flat, tongue_size, "the tongue's vertex positions")
    _expect(data_path, "neutral_jaw", flat, jaw_size, "the jaw size")
    skin_matrix = None
    implicit = np.zeros(0, np.float32)
    if kind == "regression":
        _expect(data_path, "shapes_matrix_skin", flat, skin_size * n_skin, "num_shapes_skin x 3 x num_verts_skin")
        _expect(data_path, "shapes_matrix_tongue", flat, tongue_size * n_tongue,
                "num_shapes_tongue x 3 x num_verts_tongue")
        skin_matrix = flat["shapes_matrix_skin"].reshape(n_skin, skin_size)
        # the Training Framework's deploy step writes null when no shot was chosen: its first shot, frame 0
        shot = config["config"].get("source_shot")
        shot_frame = config["config"].get("source_frame")
        shot = None if shot is None else field(config, config_path, "config", "source_shot", kind=str)
        shot_frame = 0 if shot_frame is None else count(shot_frame, config_path, "config.source_frame")
        implicit_len = count(params.get("implicit_emotion_len"), info_path, "params.implicit_emotion_len")
        emo_path = need(files["emotionDatabasePath"], "implicit_emo_db.npz", REMEDY)
        implicit = _implicit_emotion(emo_path, shot, shot_frame, implicit_len)
    if flat["saccade_rot_matrix"].size % 2:
        raise InputError(f"'{data_path}': saccade_rot_matrix does not hold pairs of angles.")

    skin_bs = _blendshapes(shapes.get("skin"), "skin", skin_size, required=True)
    tongue_bs = _blendshapes(shapes.get("tongue"), "tongue", tongue_size, required=False)
    assert skin_bs is not None
    network = files["networkPath"]
    if network.suffix == ".trt" and not network.is_file():  # model.json names the TensorRT build it expects
        network = network.with_suffix(".onnx")
    need(network, "network (network.onnx)", REMEDY)
    return A2FModel(
        folder=root, network_path=network, kind=kind, actor=identities[chosen], identities=list(identities),
        emotion_names=list(emotion_names), default_emotion=np.asarray(default_emotion, np.float32),
        implicit_emotion=implicit, buffer_len=buffer_len, buffer_offset=buffer_offset, sample_rate=sample_rate,
        n_skin=n_skin, n_tongue=n_tongue, jaw_size=jaw_size, eyes_size=eyes_size, animator=animator,
        skin_matrix=skin_matrix, skin_mean=flat[neutral_skin], lip_open_delta=flat["lip_open_pose_delta"],
        eye_close_delta=flat["eye_close_pose_delta"], tongue_mean=flat[neutral_tongue],
        neutral_jaw=flat["neutral_jaw"].reshape(-1, 3), saccades=flat["saccade_rot_matrix"].reshape(-1, 2),
        skin_blendshapes=skin_bs, tongue_blendshapes=tongue_bs, diffusion=diffusion)


def _identity(identities: list[str], actor: str | None, info_path: Path) -> int:
    if not actor:
        return 0
    wanted = actor.strip().lower()
    names = [n.lower() for n in identities]
    if wanted not in names:
        raise InputError(f"'{info_path}' has no actor '{actor}'; it has {', '.join(identities)}.")
    return names.index(wanted)


def _file_names(root: Path, listed: dict, kind: str, identities: list[str],
                chosen: int) -> tuple[dict[str, Path], dict[str, dict[str, Path]]]:
    """The files ``model.json`` names (inside the folder), or the release's default names without it. A v3.0
    index lists one config, data and blendshape set per identity: the chosen one's are taken."""
    actor = identities[chosen]
    if kind == "regression":
        names = {key: listed.get(key, default) for key, default in DEFAULT_FILES.items()}
        given = listed.get("blendshapePaths", DEFAULT_BLENDSHAPES)
    else:
        def pick(key: str, default: Any) -> Any:
            values = listed.get(key)
            if values is None:
                return default
            if not isinstance(values, list) or len(values) != len(identities):
                raise InputError(f"'{root / 'model.json'}': {key} must list one entry per identity "
                                 f"({len(identities)}).")
            return values[chosen]

        names = {"networkPath": listed.get("networkPath", "network.onnx"),
                 "modelConfigPath": pick("modelConfigPaths", f"model_config_{actor}.json"),
                 "modelDataPath": pick("modelDataPaths", f"model_data_{actor}.npz")}
        given = pick("blendshapePaths", {part: {k: v.replace(".", f"_{actor}.", 1) for k, v in files.items()}
                                         for part, files in DEFAULT_BLENDSHAPES.items()})
    files = {key: inside(root, value, key) for key, value in names.items()}
    if not isinstance(given, dict):
        raise InputError(f"'{root / 'model.json'}': blendshapePaths is not an object of skin/tongue files.")
    shapes: dict[str, dict[str, Path]] = {}
    for part in ("skin", "tongue"):
        entry = given.get(part)
        if entry is None:
            continue
        if not isinstance(entry, dict):
            raise InputError(f"'{root / 'model.json'}': blendshapePaths.{part} is not an object with config and "
                             "data.")
        shapes[part] = {k: inside(root, entry.get(k, ""), f"{part} blendshape {k}") for k in ("config", "data")}
    return files, shapes


def _expect(path: Path, key: str, flat: dict[str, np.ndarray], size: int, meaning: str) -> None:
    if flat[key].size != size:
        raise InputError(f"'{path}': {key} holds {flat[key].size} values; network_info.json says {size} "
                         f"({meaning}). The files come from different models.")
    if not np.isfinite(flat[key]).all():
        raise InputError(f"'{path}': {key} holds values that are not finite numbers.")


def _implicit_emotion(path: Path, shot: str | None, frame: int, length: int) -> np.ndarray:
    db = read_npz(path, "implicit emotion database")
    for key in ("emo_db", "emo_spec_names", "emo_spec_start", "emo_spec_size"):
        if key not in db:
            raise InputError(f"'{path}' lacks '{key}': it is not an Audio2Face-3D emotion database.")
    table = np.asarray(db["emo_db"], np.float32)
    if table.ndim != 2 or table.shape[1] != length:
        raise InputError(f"'{path}': emo_db has shape {table.shape}; network_info.json says rows of {length}.")
    shots = names(db["emo_spec_names"])
    starts, sizes = np.asarray(db["emo_spec_start"]).reshape(-1), np.asarray(db["emo_spec_size"]).reshape(-1)
    if not len(shots) == len(starts) == len(sizes):
        raise InputError(f"'{path}': emo_spec_names, emo_spec_start and emo_spec_size differ in length.")
    shot = shots[0] if shot is None and shots else shot
    if shot not in shots:
        raise InputError(f"model_config.json's source_shot '{shot}' is not in '{path}' (shots: "
                         f"{', '.join(shots[:6])}{'...' if len(shots) > 6 else ''}).")
    k = shots.index(shot)
    if not 0 <= frame < int(sizes[k]) or not 0 <= int(starts[k]) + frame < len(table):
        raise InputError(f"model_config.json's source_frame {frame} is outside shot '{shot}' ({int(sizes[k])} "
                         f"frames) in '{path}'.")
    return table[int(starts[k]) + frame].copy()


def _blendshapes(paths: dict[str, Path] | None, part: str, size: int, required: bool) -> BlendshapeSet | None:
    if paths is None or not (paths["config"].is_file() and paths["data"].is_file()):
        if required:
            raise InputError(f"The model folder has no {part} blendshapes (bs_{part}.npz and "
                             f"bs_{part}_config.json): the ARKit weights are solved from them. {REMEDY}")
        return None
    config = _solve_config(paths["config"])
    data = read_npz(paths["data"], f"{part} blendshapes")
    if "poseNames" not in data:
        raise InputError(f"'{paths['data']}' lacks poseNames: it is not an Audio2Face-3D blendshape file.")
    pose_names = names(data["poseNames"])
    if not pose_names or pose_names[0] != "neutral":
        raise InputError(f"'{paths['data']}': poseNames must start with 'neutral'.")
    missing = [n for n in pose_names if n not in data]
    if missing:
        raise InputError(f"'{paths['data']}' names poses it does not hold: {', '.join(missing[:5])}.")
    neutral = np.asarray(data["neutral"], np.float32).reshape(-1)
    if neutral.size != size:
        raise InputError(f"'{paths['data']}': the neutral pose has {neutral.size} values; the network's {part} "
                         f"has {size}. The blendshapes belong to another model.")
    poses = pose_names[1:]
    deltas = np.empty((len(poses), size), np.float32)
    for i, name in enumerate(poses):
        pose = np.asarray(data[name], np.float32).reshape(-1)
        if pose.size != size:
            raise InputError(f"'{paths['data']}': pose '{name}' has {pose.size} values, the neutral {size}.")
        deltas[i] = pose
    if not (np.isfinite(neutral).all() and np.isfinite(deltas).all()):
        raise InputError(f"'{paths['data']}' holds values that are not finite numbers.")
    mask = None
    if "frontalMask" in data:
        mask = np.asarray(data["frontalMask"]).reshape(-1).astype(np.int64)
        if mask.size and (mask.min() < 0 or mask.max() >= size // 3):
            raise InputError(f"'{paths['data']}': frontalMask names vertices the mesh does not have.")
        mask = mask if mask.size else None
    if len(config.active) != len(poses):
        raise InputError(f"'{paths['config']}' sets {len(config.active)} poses; '{paths['data'].name}' has "
                         f"{len(poses)}.")
    if not config.active.any():
        raise InputError(f"'{paths['config']}' makes no pose active: nothing would be solved.")
    return BlendshapeSet(poses, neutral, deltas, mask, config)


def _solve_config(path: Path) -> SolveConfig:
    data = read_json(path, "blendshape solve config")
    p = field(data, path, "blendshape_params", kind=dict)

    def number(key: str, default: float | None = None) -> float:
        if default is not None and key not in p:
            return default
        value = float(field(data, path, "blendshape_params", key, kind=(int, float)))
        if not np.isfinite(value) or value < 0:
            raise InputError(f"'{path}': blendshape_params.{key} must be a finite number of at least 0.")
        return value

    n = count(p.get("numPoses"), path, "blendshape_params.numPoses", 1, 10_000)

    def per_pose(key: str, dtype) -> np.ndarray:
        values = field(data, path, "blendshape_params", key, kind=list)
        if len(values) != n:
            raise InputError(f"'{path}': {key} has {len(values)} entries; numPoses is {n}.")
        try:
            out = np.asarray(values, dtype)
        except (TypeError, ValueError) as e:
            raise InputError(f"'{path}': {key} holds something other than numbers.") from e
        if out.dtype.kind == "f" and not np.isfinite(out).all():
            raise InputError(f"'{path}': {key} holds values that are not finite numbers.")
        return out

    bb = number("templateBBSize", DEFAULT_TEMPLATE_BB_SIZE)
    if bb <= 0:
        raise InputError(f"'{path}': templateBBSize must be above 0.")
    return SolveConfig(l1=number("strengthL1regularization"), l2=number("strengthL2regularization"),
                       temporal=number("strengthTemporalSmoothing"), symmetry=number("strengthSymmetry"),
                       template_bb_size=bb, active=per_pose("bsSolveActivePoses", np.int64) != 0,
                       cancel=per_pose("bsSolveCancelPoses", np.int64),
                       symmetric=per_pose("bsSolveSymmetryPoses", np.int64),
                       multipliers=per_pose("bsWeightMultipliers", np.float32),
                       offsets=per_pose("bsWeightOffsets", np.float32))
