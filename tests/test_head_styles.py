"""Head-motion styles (``--head-style``): calm reads, conversational turns a little, lively presents; each in
the range real speakers move in, the same seed the same motion."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.head_styles import head_angles, head_statistics
from inference.motion import head
from inference.pipeline import AnimateOptions, synthesise


@pytest.fixture(scope="module")
def long_readings(shared_data):
    """Two long real recordings with their transcripts, analysed once (a German reading, an English monologue)."""
    from inference.audio.analysis import Analyzer
    from inference.audio.decode import probe
    from inference.audio.languages import resolve

    analyzer = Analyzer()
    out = []
    for path, lang in (("speech/multi/de_aeneas_simplicissimus.wav", "de"),
                       ("speech/en/mfa_acoustic_corpus.wav", "en")):
        wav = shared_data / path
        text = wav.with_suffix(".txt").read_text(encoding="utf-8")
        out.append((analyzer.analyse(probe(wav), text, resolve(lang)), text, lang))
    return out


@pytest.mark.shared_data
def test_each_style_moves_the_head_as_much_as_its_kind_of_speaker(long_readings):
    for analysis, text, lang in long_readings:
        stats = {style: head_statistics(head_angles(synthesise(analysis, AnimateOptions(
            transcript=text, language=lang, head_style=style)).head), 30.0)
                 for style in head.STYLES}
        calm, talk, lively = stats["calm"], stats["conversational"], stats["lively"]
        assert max(calm["pitch"], calm["yaw"], calm["roll"]) <= 1.0  # a reader
        assert 1.5 <= talk["yaw"] <= 4.0  # conversation
        assert 3.0 <= lively["yaw"] <= 9.0  # a presenter
        assert calm["yaw"] < talk["yaw"] < lively["yaw"] and calm["speed50"] < talk["speed50"] < lively["speed50"]


@pytest.mark.shared_data
def test_the_same_seed_gives_the_same_head(long_readings):
    analysis, text, lang = long_readings[1]

    def yaw(seed: int) -> np.ndarray:
        clip = synthesise(analysis, AnimateOptions(transcript=text, language=lang, head_style="lively", seed=seed))
        return np.asarray(clip.head["yaw"])

    np.testing.assert_array_equal(yaw(3), yaw(3))
    assert np.abs(yaw(3) - yaw(4)).max() > 1.0


def test_phrases_are_split_by_real_pauses_only():
    speech = np.zeros(1000, bool)
    speech[100:300] = speech[310:400] = speech[600:900] = True  # a 0.1 s gap inside the first phrase
    assert head.phrases(speech) == [(100, 400), (600, 900)]


def test_the_head_turns_as_a_phrase_starts_and_comes_back_in_a_long_pause():
    speech = np.zeros(1000, bool)
    speech[100:300] = speech[600:800] = True  # a 3 s pause between two phrases
    style = head.STYLES["lively"]
    yaw, pitch = head.phrase_turns(1000, head.phrases(speech), np.random.default_rng(1), style)
    assert abs(yaw[80]) < 1e-9  # still before the move starts (0.1 s ahead of the voice)
    ramp = int(style.turn_s * 100)
    assert abs(yaw[90 + ramp]) > 0.5 and yaw[90 + ramp] == pytest.approx(yaw[250])  # taken, then held
    assert abs(yaw[520]) < 0.05 and abs(pitch[520]) < 0.05  # back to the front during the long pause
    assert np.abs(np.diff(yaw)).max() < 3 * abs(yaw[250]) / ramp + 1e-9  # smooth, no jump


def test_a_long_stretch_without_pauses_is_cut_at_word_boundaries_into_intonation_phrases():
    """Six seconds of speech without a pause (a reader's sentence) is three phrases, cut at the quietest moments
    near two and four seconds, and the head takes a new direction at each cut; up to four seconds stay whole."""
    loud = np.full(1000, 0.8)
    loud[[250, 350, 440, 600]] = 0.4  # shallow dips between words
    loud[299:302] = loud[524:527] = 0.0  # the word boundaries nearest the even cuts
    cut = head.intonation_phrases([(100, 700), (750, 1000)], loud)
    assert cut == [(100, 300), (300, 525), (525, 700), (750, 1000)]

    yaw, _ = head.phrase_turns(1000, cut, np.random.default_rng(1), head.STYLES["lively"])
    for start in (300, 525):
        lead = start - 10  # the move starts 0.1 s ahead of the voice
        assert yaw[lead - 1] == pytest.approx(yaw[lead - 20]) and abs(yaw[lead + 15] - yaw[lead - 1]) > 1e-3


def test_a_phrase_ending_on_a_rise_tilts_the_head():
    st = np.zeros(600)
    st[250:300] = np.linspace(0, 6, 50)  # the first phrase ends rising six semitones
    spans = [(100, 300), (400, 550)]
    roll = head.question_tilts(600, st, spans, 1.0, head.STYLES["conversational"])
    assert roll[300:340].max() > 1.0 and abs(roll[530:]).max() < 0.05
