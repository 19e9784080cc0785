"""wav2vec2 phoneme CTC models (inference/neural/wav2vec2_phones.py): a folder laid out like Meta's espeak
phoneme repos, made by tools/make_tiny_wav2vec2.py with random weights, loaded through transformers on the
CPU; transcripts force-aligned in any espeak language, phones recognised without one; broken and hostile
folders refused with a clear message."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from inference.errors import InputError

pytest.importorskip("torch", reason="needs the neural extra: pip install -e '.[neural]'")
pytest.importorskip("transformers", reason="needs the neural extra: pip install -e '.[neural]'")



@pytest.fixture(scope="module")
def tiny_w2v(tmp_path_factory) -> Path:
    from tools.make_tiny_wav2vec2 import make

    return make(tmp_path_factory.mktemp("w2v") / "wav2vec2-espeak")


@pytest.fixture(scope="module")
def model(tiny_w2v):
    from inference.neural.engines import phone_model

    return phone_model(str(tiny_w2v), "cpu")


def _vividtalk(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "inference", *args], capture_output=True, text=True, timeout=600)


def test_the_folder_loads_with_the_blank_and_the_20_ms_grid(model):
    assert model.blank == 0 and model.vocab["<s>"] == 1 and model.frame_s == pytest.approx(0.02)
    assert model.device == "cpu"
    lp = model.log_probs(np.zeros(16000 * 3 + 123, np.float32))
    assert lp.shape == (150, len(model.vocab)) and np.allclose(np.exp(lp).sum(axis=1), 1.0, atol=1e-4)


def test_espeak_phones_are_spelled_in_the_vocabulary(model):
    tokens = {p: [model.id_to_token[i] for i in model.spell(p)] for p in ("ˈoʊ", "ˈɜː", "ᵻ", "tʃ", "ˌaɪə", "ʔ")}
    assert tokens == {"ˈoʊ": ["oʊ"], "ˈɜː": ["ɜː"], "ᵻ": ["ᵻ"], "tʃ": ["tʃ"], "ˌaɪə": ["aɪ", "ə"], "ʔ": ["ʔ"]}


def _spiky(model, tokens: list[int], frames: int, at: list[int]) -> np.ndarray:
    """Log-probabilities with each token a clear spike at its frame, blank elsewhere."""
    lp = np.full((frames, len(model.vocab)), -9.0, np.float32)
    lp[:, model.blank] = -0.01
    for token, frame in zip(tokens, at, strict=True):
        lp[frame, model.blank], lp[frame, token] = -9.0, -0.01
    return lp


def test_a_transcript_is_aligned_to_the_spikes_with_word_times_and_pauses(model):
    from inference.audio.languages import resolve

    words = ["hello", "world"]
    tokens = model.transcript_tokens(words, resolve("en"))
    assert [t.ipa for t in tokens] == ["h", "ə", "l", "oʊ", "w", "ɜː", "l", "d"]
    at = [10, 14, 18, 22, 60, 64, 68, 72]  # a 0.76 s pause between the words
    timing = model.align(_spiky(model, [t.token for t in tokens], 100, at), "Hello world!", resolve("en"), 2.0)
    assert timing.method == "wav2vec2-align"
    assert [(w, round(s, 2)) for s, _, w in timing.words] == [("Hello", 0.2), ("world", 1.2)]
    labels = [p.label for p in timing.phones]
    assert labels == ["SIL", "HH", "AH", "L", "OW", "SIL", "W", "ER", "L", "D", "SIL"]
    ow = timing.phones[4]
    assert ow.start == pytest.approx(0.44) and ow.end == pytest.approx(0.46 + 0.08)  # its tail before the pause


def test_without_a_transcript_the_recognised_phones_are_timed(model):
    ids = [model.vocab[p] for p in ("m", "a", "p")]
    timing = model.recognise(_spiky(model, ids, 50, [5, 9, 13]), 1.0)
    assert [(p.label, round(p.start, 2)) for p in timing.phones] == [
        ("SIL", 0.0), ("M", 0.1), ("AA", 0.18), ("P", 0.26), ("SIL", 0.36)]


def test_animate_with_wav2vec2_phones_with_and_without_a_transcript(tiny_w2v, demo_voice, tmp_path):
    from inference.demo import DEMO_TEXT
    from inference.motion.clip import MotionClip

    for name, extra in (("aligned", ["-t", DEMO_TEXT]), ("recognised", [])):
        out = tmp_path / f"{name}.json"
        done = _vividtalk("animate", str(demo_voice), "-o", str(out), "--phones", "wav2vec2", "--phone-model",
                          str(tiny_w2v), "--device", "cpu", "--progress", "quiet", *extra)
        assert done.returncode == 0, done.stderr
        clip = MotionClip.load(out)
        assert clip.meta["timing_methods"] == ["wav2vec2-align" if extra else "wav2vec2"]
        assert clip.meta["phone_model"]["device"] == "cpu"
        assert clip.phones and clip.phones[-1][1] == pytest.approx(clip.duration, abs=0.03)
    words = [w for _, _, w in MotionClip.load(tmp_path / "aligned.json").words]
    assert words[:3] == [w.strip(",.!?") for w in DEMO_TEXT.split()[:3]]


def test_a_german_transcript_is_spelled_by_espeak_in_german(model):
    from inference.audio.languages import resolve

    ipa = [t.ipa for t in model.transcript_tokens(["schöne", "Grüße"], resolve("de"))]
    assert ipa[:3] == ["ʃ", "øː", "n"] and "yː" in ipa


def _edit(path: Path, change) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


@pytest.mark.parametrize("damage,message", [
    (lambda d: (d / "config.json").unlink(), "config.json"),
    (lambda d: (d / "vocab.json").unlink(), "vocab.json"),
    (lambda d: (d / "model.safetensors").unlink(), "no weights"),
    (lambda d: _edit(d / "config.json", lambda c: c.update(model_type="bert")), "'bert' model"),
    (lambda d: _edit(d / "vocab.json", lambda v: v.update(extra=500)), "different models"),
    (lambda d: (d / "model.safetensors").write_bytes(b"\x00" * 64), "could not be loaded"),
])
def test_broken_folders_get_a_clear_message(tiny_w2v, tmp_path, damage, message):
    from inference.neural.wav2vec2_phones import PhoneModel

    folder = Path(shutil.copytree(tiny_w2v, tmp_path / "model"))
    damage(folder)
    with pytest.raises(InputError, match=message):
        PhoneModel(folder, "cpu")


class _Payload:
    """Unpickling this would create a file: proof that code in a weights file ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_a_pickle_that_runs_code_is_refused_without_running_it(tiny_w2v, tmp_path):
    import torch

    from inference.neural.wav2vec2_phones import PhoneModel

    folder = Path(shutil.copytree(tiny_w2v, tmp_path / "model"))
    (folder / "model.safetensors").unlink()
    marker = tmp_path / "code ran"
    torch.save({"wav2vec2.masked_spec_embed": _Payload(marker)}, folder / "pytorch_model.bin")
    with pytest.raises(InputError, match="could not be loaded"):
        PhoneModel(folder, "cpu")
    assert not marker.exists()


def test_wav2vec2_without_a_model_folder_says_what_to_pass(demo_voice, tmp_path):
    done = _vividtalk("animate", str(demo_voice), "-o", str(tmp_path / "c.json"), "--phones", "wav2vec2")
    assert done.returncode == 2 and "--phone-model" in done.stderr
