"""The bisecting cmudict reader gives what pocketsphinx's own dictionary gives, variants included."""

import re

import numpy as np

from inference.audio.cmudict import CmuDict
from inference.audio.phones import _model_paths


def test_lookups_match_the_decoders_dictionary():
    from pocketsphinx import Decoder

    paths = _model_paths()
    decoder = Decoder(hmm=paths["hmm"], dict=paths["dict"], lm=None, loglevel="FATAL")
    ours = CmuDict(paths["dict"])
    with open(paths["dict"], encoding="utf-8") as f:
        words = sorted({re.sub(r"\(\d+\)$", "", line.split(" ", 1)[0]) for line in f if line.strip()})
    sample = [words[i] for i in np.random.default_rng(0).choice(len(words), 3000, replace=False)]
    for word in [*sample, words[0], words[-1], "read", "the", "a"]:
        variants = [word] + [f"{word}({k})" for k in range(2, 12)]
        expected = [(name, decoder.lookup_word(name)) for name in variants if decoder.lookup_word(name) is not None]
        assert ours.pronunciations(word) == expected, word
    for absent in ("", "zzzzq", "The", "vividtalk", "~"):
        assert ours.pronunciations(absent) == [] and decoder.lookup_word(absent) is None
