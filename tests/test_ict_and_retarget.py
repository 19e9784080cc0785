"""ICT-FaceKit as a rig, agreement of the portrait shapes with it, and driving arbitrary characters by name."""

from __future__ import annotations

import numpy as np
import pytest

from inference.errors import InputError
from inference.motion.arkit import ARKIT_NAMES
from inference.rigs.ict import arkit_name, load_ict_rig
from inference.rigs.retarget import OCULUS, map_shape_keys, viseme_weights


@pytest.fixture(scope="module")
def ict(shared_data):
    return load_ict_rig(shared_data / "heads" / "ict_facekit")


def test_ict_head_has_arkit_names_and_opens_its_jaw(ict, shared_data):
    assert set(ict.shape_names) == set(ARKIT_NAMES)  # ICT's 53 merged to 51, plus tongueOut
    lm = ict.landmarks
    rest = ict.evaluate({}, 1)[0]
    opened = ict.evaluate({"jawOpen": 1.0}, 1)[0]
    moved = (opened - rest) * 100
    # the lower lip drops as ICT's own jawOpen drops it, 3.51 cm (its 3.27 cm lip gap, the data README, and the
    # 0.24 cm its upper lip comes down), scaled so the incisors part 25 mm; the upper lip's middle rises instead, as
    # real speakers' does (rigs/lip_bow.py)
    assert -moved[lm["lip_lower"], 1] == pytest.approx(3.51 * float(ict.meta["jaw_scale"]), abs=0.1)
    assert moved[lm["lip_upper"], 1] > 0.2
    assert ict.uvs.shape == (len(ict.face_indices), 2) and set(np.unique(ict.face_sizes)) == {3, 4}
    # merged split shapes: browInnerUp = ICT's _L + _R (kept vertices: the transparent eye layers are left out)
    with np.load(shared_data / "heads" / "ict_facekit" / "ict_arkit.npz") as z:
        names = list(z["expression_names"])
        deltas = z["expression_deltas"]
        both = deltas[names.index("browInnerUp_L")] + deltas[names.index("browInnerUp_R")]
    np.testing.assert_allclose(ict.shape("browInnerUp")[:24591], both[:24591] / 100, atol=1e-7)
    turned = ict.evaluate({"head.yaw": 20.0}, 1)[0]
    assert turned[lm["nose_tip"], 0] - rest[lm["nose_tip"], 0] > 0.02


def test_missing_ict_folder_says_what_to_point_at(tmp_path):
    with pytest.raises(InputError, match="ICT-FaceKit checkout"):
        load_ict_rig(tmp_path)
    assert arkit_name("eyeBlink_L") == "eyeBlinkLeft" and arkit_name("jawOpen") == "jawOpen"


def test_portrait_shapes_agree_with_the_artist_made_ones(shared_data, ict):
    from benchmarks.rig_shapes import compare
    from inference.rigs.portrait import default_portrait_rig

    with np.load(shared_data / "heads" / "ict_facekit" / "ict_arkit.npz") as z:
        multipie = z["landmarks_multipie68"]
    rows = {r.name: r for r in compare(default_portrait_rig(), ict, multipie)}
    assert len(rows) >= 40
    for name in ("jawOpen", "mouthClose", "mouthPucker", "mouthSmileLeft", "mouthFunnel", "eyeBlinkLeft",
                 "browInnerUp", "mouthRollLower"):
        assert rows[name].cosine > 0.7, (name, rows[name])
        assert 0.4 < rows[name].size_ratio < 2.0, (name, rows[name])
    assert np.median([r.cosine for r in rows.values()]) > 0.7


@pytest.mark.parametrize("spelling", [
    ["jawOpen", "eyeBlinkLeft", "mouthSmileRight"], ["JawOpen", "EyeBlinkLeft", "MouthSmileRight"],
    ["jaw_open", "eye_blink_left", "mouth_smile_right"], ["jawOpen", "eyeBlink_L", "mouthSmile_R"],
    ["blendShape1.jawOpen", "blendShape1.eyeBlink_L", "blendShape1.mouthSmile_R"],
    ["JawOpen", "EyeBlink.L", "MouthSmile.R"],
])
def test_arkit_names_in_their_common_spellings(spelling):
    m = map_shape_keys([*spelling, "Basis", "myCustomFix"])
    assert m.scheme == "arkit"
    assert sorted(m.targets.values()) == ["eyeBlinkLeft", "jawOpen", "mouthSmileRight"]
    assert m.unmapped_targets == ["Basis", "myCustomFix"]  # reported, not an error
    assert "tongueOut" in m.unused_channels


def test_viseme_only_rigs_are_recognised():
    oculus = map_shape_keys(["Basis", *[f"viseme_{v}" for v in OCULUS]])
    assert oculus.scheme == "oculus" and len(oculus.targets) == 15
    vrm = map_shape_keys(["A", "I", "U", "E", "O", "Blink"])
    assert vrm.scheme == "vrm" and vrm.targets["U"] == "ou" and vrm.unmapped_targets == ["Blink"]
    rhubarb = map_shape_keys([f"mouth_{c}" for c in "ABCDEFGHX"])
    assert rhubarb.scheme == "rhubarb" and len(rhubarb.targets) == 9
    none = map_shape_keys(["Basis", "Key 1"])
    assert none.scheme == "none" and not none.targets


def test_viseme_weights_follow_the_phones():
    phones = [(0.0, 0.2, "SIL"), (0.2, 0.3, "P"), (0.3, 0.5, "AA"), (0.5, 0.6, "M"), (0.6, 1.0, "SIL")]
    w = viseme_weights(phones, 30.0, 31)
    total = sum(w.values())
    np.testing.assert_allclose(total, 1.0, atol=1e-9)
    assert w["PP"][6:10].max() > 0.9 and w["aa"][12] > 0.9 and w["sil"][25] > 0.9
    r = viseme_weights(phones, 30.0, 31, scheme="rhubarb")
    assert r["A"][6:10].max() > 0.9 and r["D"][12] > 0.9 and r["X"][0] > 0.9
    # no pops: a weight never jumps by more than one crossfade step between frames
    assert max(np.abs(np.diff(v)).max() for v in w.values()) < 0.75


def test_a_characters_take_comes_back_as_arkit_channels():
    from inference.rigs.retarget import arkit_channels

    spelled = arkit_channels({"JawOpen": [0.0, 0.6], "EyeBlink_L": [1.0, 0.0], "MyFix": [0.3, 0.3]})
    assert set(spelled) == {"jawOpen", "eyeBlinkLeft"} and list(spelled["jawOpen"]) == [0.0, 0.6]
    visemes = arkit_channels({"viseme_sil": [1, 0, 0], "viseme_aa": [0, 1, 0], "viseme_PP": [0, 0, 1]})
    assert visemes["jawOpen"][0] == 0 and visemes["jawOpen"][1] > 0.3  # rest, then a wide vowel
    assert visemes["mouthClose"][2] == visemes["jawOpen"][2] > 0  # PP: sealed lips
    arkit = {"jawOpen": [0.1, 0.2]}
    assert list(arkit_channels(arkit)["jawOpen"]) == [0.1, 0.2]
