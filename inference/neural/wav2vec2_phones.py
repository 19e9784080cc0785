"""Phone timing from a wav2vec2 phoneme CTC model (espeak-ng IPA vocabulary) through transformers.

Meta's ``facebook/wav2vec2-lv-60-espeak-cv-ft`` and ``-xlsr-53-espeak-cv-ft`` (Apache-2.0) emit espeak IPA
phones every 20 ms. Without a transcript the greedy CTC path gives the phones and their times; with one, the
transcript's espeak phones (in every language espeak-ng speaks) are force-aligned to the model's output
(ctc.py). The phones are mapped to ARPAbet (g2p.ipa_to_arpabet) for the existing viseme path.

The folder is read as ``save_pretrained`` writes it: config.json, vocab.json, model.safetensors (or
pytorch_model.bin, which torch reads in its weights-only mode: no code in it runs), and optionally
preprocessor_config.json. Only the Wav2Vec2ForCTC class is ever built (no remote code).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..audio.g2p import ipa_to_arpabet, tokenize
from ..audio.languages import Language
from ..audio.phones import SILENCE, Phone, Timing
from ..errors import InputError
from .ctc import TokenSpan, force_align, greedy
from .devices import torch_device
from .model_files import need, read_json

REMEDY = ("Download a wav2vec2 phoneme model (e.g. 'vividtalk models fetch wav2vec2-espeak' or the Hugging Face "
          "repo facebook/wav2vec2-lv-60-espeak-cv-ft) and pass the folder that holds config.json.")
SAMPLE_RATE = 16000
CHUNK_S, CONTEXT_S = 20.0, 1.0  # long audio runs in chunks with context either side (attention is global)
PAUSE_S = 0.25  # a gap between two phones' spikes longer than this is a pause: the phone ends, silence follows
PHONE_TAIL_S = 0.08  # how long a phone lasts after its spike before a pause
SPECIAL = ("<pad>", "<s>", "</s>", "<unk>", "|", "[PAD]", "[UNK]")
_STRIP = set("ˈˌ")  # stress marks: espeak writes them inside phones; the models' vocabularies leave them out


@dataclass(frozen=True)
class TranscriptToken:
    word: int  # index of the transcript word
    token: int  # vocabulary id
    ipa: str


class PhoneModel:
    """A loaded wav2vec2 phoneme model on one device."""

    def __init__(self, folder: str | Path, device: str = "auto") -> None:
        root = Path(folder).expanduser()
        if not root.is_dir():
            raise InputError(f"The wav2vec2 model folder '{root}' does not exist or is not a folder. {REMEDY}")
        config_path = need(root / "config.json", "config.json", REMEDY)
        config = read_json(config_path, "model config")
        if config.get("model_type") != "wav2vec2":
            raise InputError(f"'{config_path}' describes a '{config.get('model_type')}' model; a wav2vec2 phoneme "
                             "CTC model is needed.")
        vocab_path = need(root / "vocab.json", "vocab.json", REMEDY)
        vocab = read_json(vocab_path, "vocabulary")
        if len(vocab) == 1 and isinstance(next(iter(vocab.values())), dict):  # {"<lang>": {token: id}}
            vocab = next(iter(vocab.values()))
        if not vocab or not all(isinstance(v, int) and not isinstance(v, bool) for v in vocab.values()):
            raise InputError(f"'{vocab_path}' is not a wav2vec2 vocabulary (token -> id).")
        size = config.get("vocab_size")
        if not isinstance(size, int) or max(vocab.values()) >= size or min(vocab.values()) < 0:
            raise InputError(f"'{vocab_path}' has ids up to {max(vocab.values())}; config.json's vocab_size is "
                             f"{size}. The files come from different models.")
        weights = [p for p in (root / "model.safetensors", root / "pytorch_model.bin") if p.is_file()]
        if not weights:
            raise InputError(f"The model folder '{root}' has no weights (model.safetensors or pytorch_model.bin). "
                             f"{REMEDY}")
        self.folder = root
        self.vocab: dict[str, int] = dict(vocab)
        self.id_to_token = {i: t for t, i in vocab.items()}
        self.blank = vocab.get("<pad>", config.get("pad_token_id", 0))
        self.ignore = frozenset(vocab[t] for t in SPECIAL if t in vocab and vocab[t] != self.blank)
        self._longest = max(len(t) for t in vocab)
        stride = config.get("conv_stride", [5, 2, 2, 2, 2, 2, 2])
        self.frame_s = float(np.prod(stride)) / SAMPLE_RATE
        pre = root / "preprocessor_config.json"
        self.normalize = bool(read_json(pre, "preprocessor config").get("do_normalize", True)) if pre.is_file() \
            else True
        torch, model_class = _torch_and_class()
        self.device = torch_device(device)
        try:
            self.model = model_class.from_pretrained(str(root), local_files_only=True,
                                                     use_safetensors=weights[0].suffix == ".safetensors")
        except Exception as e:  # safetensors, torch's weights-only unpickler and transformers raise their own
            raise InputError(f"'{weights[0]}' could not be loaded as a Wav2Vec2ForCTC model: {str(e)[:300]}") from e
        # float32 whatever the file holds: a half-precision save would otherwise meet float32 audio on the CPU
        self.model.float().eval().to(self.device)
        if self.device == "cpu":
            from ..cores import usable_cores

            torch.set_num_threads(usable_cores())  # a batch worker's one core, else all this process may use
        self._torch = torch

    def log_probs(self, audio: np.ndarray) -> np.ndarray:
        """(frames, vocabulary) log-probabilities on a 20 ms grid from 16 kHz mono audio."""
        audio = np.asarray(audio, np.float32)
        n_frames = int(len(audio) / SAMPLE_RATE / self.frame_s)
        out = np.full((n_frames, self.model.config.vocab_size), -30.0, np.float32)  # silence: blank
        out[:, self.blank] = 0.0
        chunk, context = int(CHUNK_S * SAMPLE_RATE), int(CONTEXT_S * SAMPLE_RATE)
        for lo in range(0, len(audio), chunk):
            a, b = max(0, lo - context), min(len(audio), lo + chunk + context)
            piece = audio[a:b]
            if len(piece) < 400:  # shorter than the first convolution's reach
                continue
            if self.normalize:
                piece = (piece - piece.mean()) / np.sqrt(piece.var() + 1e-7)
            with self._torch.inference_mode():
                x = self._torch.from_numpy(np.ascontiguousarray(piece))[None].to(self.device)
                logits = self.model(x).logits[0].float()
                lp = self._torch.log_softmax(logits, dim=-1).cpu().numpy()
            first = round((lo - a) / SAMPLE_RATE / self.frame_s)
            start = round(lo / SAMPLE_RATE / self.frame_s)
            take = min(round(chunk / SAMPLE_RATE / self.frame_s), n_frames - start, len(lp) - first)
            if take > 0:
                out[start:start + take] = lp[first:first + take]
        return out

    def recognise(self, log_probs: np.ndarray, duration: float) -> Timing:
        spans = greedy(log_probs, self.blank, self.ignore)
        return Timing(self._phones(spans, duration), [], "wav2vec2")

    def align(self, log_probs: np.ndarray, text: str, lang: Language, duration: float) -> Timing | None:
        """The transcript force-aligned, or None when none of its words can be spelled in the vocabulary."""
        words = tokenize(text, lang)
        tokens = self.transcript_tokens(words, lang)
        if not tokens:
            return None
        spans = force_align(log_probs, [t.token for t in tokens], self.blank)
        word_times: list[tuple[float, float, str]] = []
        for k, word in enumerate(words):
            mine = [s for s, t in zip(spans, tokens, strict=True) if t.word == k]
            if mine:
                word_times.append((mine[0].first * self.frame_s, (mine[-1].last + 1) * self.frame_s, word))
        return Timing(self._phones(spans, duration), word_times, "wav2vec2-align", word_range=(0, len(words)))

    def transcript_tokens(self, words: list[str], lang: Language) -> list[TranscriptToken]:
        from ..audio import espeak

        out: list[TranscriptToken] = []
        for k, word in enumerate(words):
            for ipa_word in espeak.text_to_ipa_words(word, lang.voice):
                for phone in ipa_word:
                    if phone.startswith("("):  # espeak's language-switch marks
                        continue
                    out += [TranscriptToken(k, i, self.id_to_token[i]) for i in self.spell(phone)]
        return out

    def spell(self, phone: str) -> list[int]:
        """Vocabulary ids for one espeak phone: itself, without stress, then the longest pieces it splits into
        (symbols the vocabulary lacks are dropped)."""
        plain = "".join(ch for ch in phone if ch not in _STRIP)
        for candidate in (phone, plain, unicodedata.normalize("NFC", plain)):
            if candidate in self.vocab:
                return [self.vocab[candidate]]
        ids: list[int] = []
        i = 0
        while i < len(plain):
            for size in range(min(self._longest, len(plain) - i), 0, -1):
                piece = plain[i:i + size]
                if piece in self.vocab and piece not in SPECIAL:
                    ids.append(self.vocab[piece])
                    i += size
                    break
            else:
                i += 1
        return ids

    def _phones(self, spans: list[TokenSpan], duration: float) -> list[Phone]:
        """ARPAbet phones with times: each lasts from its spike to the next one's, but a long gap is a pause."""
        f = self.frame_s
        timed: list[tuple[float, float, str]] = []
        for k, span in enumerate(spans):
            start = span.first * f
            next_start = spans[k + 1].first * f if k + 1 < len(spans) else duration
            end = next_start if next_start - (span.last + 1) * f <= PAUSE_S else (span.last + 1) * f + PHONE_TAIL_S
            labels = ipa_to_arpabet(self.id_to_token[span.token])
            if not labels:  # a glottal stop, a stress mark: the previous phone goes on
                continue
            step = (min(end, duration) - start) / len(labels)
            timed += [(start + i * step, start + (i + 1) * step, lab) for i, lab in enumerate(labels)]
        phones: list[Phone] = []
        cursor = 0.0
        for start, end, label in timed:
            if start > cursor + 1e-6:
                phones.append(Phone(cursor, start, SILENCE))
            if phones and phones[-1].label != SILENCE and phones[-1].end > start:
                phones[-1] = Phone(phones[-1].start, start, phones[-1].label)
            phones.append(Phone(start, max(start, end), label))
            cursor = max(start, end)
        if cursor < duration - 1e-6:
            phones.append(Phone(cursor, duration, SILENCE))
        return [p for p in phones if p.end > p.start] or [Phone(0.0, duration, SILENCE)]


def _torch_and_class():
    try:
        import torch
        from transformers import Wav2Vec2ForCTC
        from transformers.utils import logging as transformers_logging
    except ImportError as e:
        raise InputError("wav2vec2 phones need torch and transformers: pip install -e '.[neural]'.") from e
    transformers_logging.set_verbosity_error()  # our progress reports replace its bars and notices
    transformers_logging.disable_progress_bar()
    return torch, Wav2Vec2ForCTC
