"""Forced alignment in pieces: planning the cuts and word shares, joining, and the real aligner on a minute of
real English (pieces against the whole window, several processes against one)."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from inference.audio.g2p import Word, transcript_to_words
from inference.audio.languages import resolve
from inference.audio.phones import Phone, Timing
from inference.audio.piece_workers import PieceAligner
from inference.audio.pieces import FPS, MIN_PAUSE_FRAMES, PIECE_MIN_S, Piece, join, pause_cuts, plan


def _speech(seconds: float, pauses_at: list[float], pause_s: float = 0.4) -> np.ndarray:
    mask = np.ones(int(seconds * FPS), bool)
    for t in pauses_at:
        mask[int(t * FPS):int((t + pause_s) * FPS)] = False
    return mask


def _words(n: int) -> list[Word]:
    return [Word(f"w{i}", ("AH", "B"), "espeak") for i in range(n)]


def test_short_windows_and_windows_without_pauses_stay_whole():
    assert plan(_speech(12, [5.0]), _words(30)) == [Piece(0, 1200, 0, 30, 0, 0)]
    assert len(plan(_speech(60, []), _words(150))) == 1  # no pause anywhere: no cut inside a word
    assert len(plan(_speech(60, [14.0, 29.0, 44.0]), _words(20))) == 1  # too few words to find edges by


def test_long_windows_are_cut_in_pauses_with_free_words_at_inner_edges():
    speech = _speech(60, [14.8, 30.2, 44.9])
    pieces = plan(speech, _words(160))
    assert len(pieces) == 4
    for p in pieces[1:]:
        assert not speech[p.start - MIN_PAUSE_FRAMES // 2:p.start + MIN_PAUSE_FRAMES // 2].any()
    assert all(p.end - p.start >= PIECE_MIN_S * FPS for p in pieces)
    assert [p.start for p in pieces[1:]] == [p.end for p in pieces[:-1]]
    assert pieces[0].first == 0 and pieces[0].free_head == 0
    assert pieces[-1].stop == 160 and pieces[-1].free_tail == 0
    for a, b in itertools.pairwise(pieces):
        # both sides of an edge may hold the same words, and each may give them up
        assert a.free_tail == b.free_head == a.stop - b.first > 0


def test_pause_cuts_need_a_long_enough_pause():
    assert pause_cuts(_speech(60, [15.0, 30.0, 45.0], pause_s=0.1)) == [0, 6000]


def _timing(word_range: tuple[int, int], phones: list[tuple[float, float, str]]) -> Timing:
    words = [(s, e, "x") for s, e, _ in phones]
    return Timing([Phone(*p) for p in phones], words, "align", -10.0, word_range)


def test_join_offsets_pieces_and_checks_they_meet():
    pieces = [Piece(0, 1000, 0, 8, 0, 4), Piece(1000, 2000, 4, 10, 4, 0)]
    a = _timing((0, 6), [(0.5, 0.6, "B")])
    b = _timing((2, 6), [(0.1, 0.2, "M")])  # starts at word 4 + 2 = 6: where the first piece stopped
    joined = join(pieces, [a, b], 10)
    assert [(p.start, p.label) for p in joined.phones] == [(0.5, "B"), (10.1, "M")]
    assert joined.word_range == (0, 10)
    assert join(pieces, [a, _timing((1, 6), [(0.1, 0.2, "M")])], 10) is None  # word 5 twice
    assert join(pieces, [a, _timing((3, 6), [(0.1, 0.2, "M")])], 10) is None  # word 6 lost
    assert join(pieces, [a, _timing((2, 5), [(0.1, 0.2, "M")])], 10) is None  # the text's end not reached
    assert join(pieces, [a, None], 10) is None


@pytest.fixture(scope="module")
def minute_of_english(shared_data):
    """About a minute of real read English (LibriVox, LJ Speech) with its transcript, as one window."""
    from inference.audio.analysis import speech_mask
    from inference.audio.decode import load_mono16k
    from inference.audio.prosody import energy_db

    files = sorted((shared_data / "speech/en").glob("librivox_*.wav")) + sorted(
        (shared_data / "speech/en").glob("ljspeech*.wav"))
    audio = np.concatenate([load_mono16k(f)[0] for f in files] * 2)
    text = " ".join([f.with_suffix(".txt").read_text() for f in files] * 2)
    pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
    return pcm, text, speech_mask(energy_db(audio))


def test_pieces_align_like_the_whole_window(minute_of_english, analyzer):
    pcm, text, speech = minute_of_english
    words, _ = transcript_to_words(text, resolve("en"), analyzer.timer.lookup)
    pieces = plan(speech, words)
    assert len(pieces) >= 3
    with PieceAligner(analyzer.timer, 1) as serial:
        joined = join(pieces, serial.align(pcm, words, pieces), len(words))
    assert joined is not None
    whole = analyzer.timer.align(pcm, words)
    assert [w for _, _, w in joined.words] == [w.text for w in words] == [w for _, _, w in whole.words]
    a = [p for p in joined.phones if p.label != "SIL"]
    b = [p for p in whole.phones if p.label != "SIL"]
    assert len(a) == len(b)
    assert np.mean([x.label == y.label for x, y in zip(a, b, strict=True)]) > 0.99  # pronunciation picks
    onsets = np.abs(np.array([x.start - y.start for x, y in zip(a, b, strict=True)]))
    assert np.mean(onsets <= 0.011) > 0.95


def test_worker_processes_give_the_same_timing(minute_of_english, analyzer):
    pcm, text, speech = minute_of_english
    words, _ = transcript_to_words(text, resolve("en"), analyzer.timer.lookup)
    pieces = plan(speech, words)
    with PieceAligner(analyzer.timer, 1) as serial, PieceAligner(analyzer.timer, 2) as parallel:
        assert parallel.align(pcm, words, pieces) == serial.align(pcm, words, pieces)


def test_timing_does_not_depend_on_what_was_decoded_before(shared_data, analyzer):
    from inference.audio.decode import load_mono16k

    def pcm(name: str) -> np.ndarray:
        audio, _ = load_mono16k(shared_data / "speech/en" / name)
        return (np.clip(audio, -1, 1) * 32767).astype(np.int16)

    line, other = pcm("ps_goforward.wav"), pcm("jfk_ask_not.wav")
    lang = resolve("en")
    first = analyzer.timer.time_untranscribed(line, lang)
    analyzer.timer.time_untranscribed(other, lang)
    assert analyzer.timer.time_untranscribed(line, lang) == first


def test_long_untranscribed_speech_is_recognised_in_pieces(minute_of_english, analyzer):
    from inference.audio.pieces import concatenate

    pcm, _, speech = minute_of_english
    cuts = pause_cuts(speech)
    pieces = [Piece(a, b, 0, 0, 0, 0) for a, b in itertools.pairwise(cuts)]
    with PieceAligner(analyzer.timer, 1) as serial, PieceAligner(analyzer.timer, 2) as parallel:
        timings = serial.time_untranscribed(pcm, pieces, resolve("en"))
        assert parallel.time_untranscribed(pcm, pieces, resolve("en")) == timings
    joined = concatenate(pieces, timings)
    assert {t.method for t in timings} == {"recognize-words"}
    starts = [p.start for p in joined.phones]
    assert starts == sorted(starts) and joined.phones[-1].end <= len(pcm) / 16000 + 0.01
    assert len(joined.words) > 100  # about 170 words are spoken


def test_long_recording_with_transcript_aligns_every_window(shared_data, analyzer, tmp_path):
    """Over two minutes, windows are streamed; each starts where the previous one's alignment stopped, so a
    share estimated from speaking time never leaves a window with words it does not hold."""
    import soundfile as sf

    from inference.audio.decode import load_mono16k, probe

    files = sorted((shared_data / "speech/en").glob("librivox_*.wav")) + sorted(
        (shared_data / "speech/en").glob("ljspeech*.wav"))
    audio = np.concatenate([load_mono16k(f)[0] for f in files] * 5)
    text = " ".join([f.with_suffix(".txt").read_text() for f in files] * 5)
    wav = tmp_path / "long reading.wav"
    sf.write(wav, audio, 16000)
    analysis = analyzer.analyse(probe(wav), text, resolve("en"))
    assert len(analysis.methods) >= 3 and set(analysis.methods) == {"align"}
    words, _ = transcript_to_words(text, resolve("en"), analyzer.timer.lookup)
    assert [w for _, _, w in analysis.words] == [w.text for w in words]
    starts = [s for s, _, _ in analysis.words]
    assert starts == sorted(starts)


@pytest.mark.skipif(sys.platform != "linux", reason="worker processes are used on Linux only")
def test_workers_do_not_outlive_a_killed_engine(minute_of_english, tmp_path):
    import signal

    import soundfile as sf

    pcm, text, _ = minute_of_english
    wav = tmp_path / "minute.wav"
    sf.write(wav, pcm, 16000)
    (tmp_path / "minute.txt").write_text(text)
    engine = subprocess.Popen([sys.executable, "-m", "inference", "animate", str(wav), "-t",
                               str(tmp_path / "minute.txt"), "-o", str(tmp_path / "clip.json"), "--progress", "quiet"])

    def children() -> list[int]:
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == engine.pid:
                found.append(int(stat.parent.name))
        return found

    deadline = time.monotonic() + 60
    while len(children()) < 2 and engine.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    workers = children()
    assert len(workers) >= 2, "the engine finished before its workers were seen"
    engine.send_signal(signal.SIGKILL)
    engine.wait()
    deadline = time.monotonic() + 5
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)
    assert not (tmp_path / "clip.json").exists()
