"""The cheap parts of phone timing: the decoders' view of digital silence and the squeezed-phone test."""

import numpy as np

from inference.audio.phones import SQUEEZED_PHONE_S, Phone, decoder_pcm, timed_like_speech


def test_decoder_pcm_fills_digital_silence_only_and_repeats():
    audio = np.concatenate([np.zeros(4000), 0.3 * np.sin(np.arange(8000) / 7.0), np.zeros(4000)])
    pcm = decoder_pcm(audio)
    assert pcm.dtype == np.int16 and len(pcm) == len(audio)
    assert (pcm[:4000] != 0).mean() > 0.5 and np.abs(pcm[:4000]).max() <= 20  # faint, not silent
    voiced = slice(4000, 12000)
    plain = (audio[voiced] * 32767.0).astype(np.int16)
    touched = plain == 0  # the few samples that round to zero inside the tone get the fill too
    assert np.array_equal(pcm[voiced][~touched], plain[~touched])
    assert np.array_equal(decoder_pcm(audio), pcm)  # the same audio, the same samples: timing repeats


def test_squeezed_phones_mark_a_forced_fit():
    def phones(durations):
        t, out = 0.0, [Phone(0.0, 0.3, "SIL")]
        for d in durations:
            out.append(Phone(0.3 + t, 0.3 + t + d, "AH"))
            t += d
        return out

    natural = [0.05, 0.08, 0.12, 0.07, SQUEEZED_PHONE_S, 0.09, 0.06, 0.11, 0.04, 0.1]
    assert timed_like_speech(phones(natural))
    crammed = [SQUEEZED_PHONE_S] * 5 + [0.4, 0.05, 0.3, SQUEEZED_PHONE_S, 0.08]
    assert not timed_like_speech(phones(crammed))
    assert not timed_like_speech([Phone(0.0, 1.0, "SIL")])
