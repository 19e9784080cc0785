"""Make a wav2vec2 phoneme CTC model folder with random weights, laid out as ``save_pretrained`` and Meta's
espeak phoneme repos lay it out: config.json (Wav2Vec2ForCTC), model.safetensors, vocab.json (espeak-ng IPA
phones; ``<pad>`` = 0 is the CTC blank, ``<s>`` = 1), tokenizer_config.json (``|`` as the word delimiter, which
the vocabulary need not contain), special_tokens_map.json, preprocessor_config.json.

``--size tiny`` (default) is a few hundred kB; ``--size large`` is the wav2vec2-large architecture
(24 layers, 1024 wide, ~315 M parameters) for speed measurements. Needs torch and transformers:

    python tools/make_tiny_wav2vec2.py OUT_DIR [--size tiny|large] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

# an espeak-ng IPA inventory like the published models' (length marks inside tokens, no stress marks)
PHONES = ("a aɪ aʊ b d dʒ e eɪ f h i iː j k l m n ŋ o oʊ p r s t tʃ ts u uː v w x z æ ç ð ø øː œ ɐ ɑ ɑː ɑ̃ ɒ ɔ ɔɪ "
          "ɔː ɔ̃ ə əl əʊ ɚ ɛ ɛ̃ ɜː ɡ ɣ ɪ ɪə ɲ ɹ ɾ ʁ ʃ ʊ ʊə ʌ ʎ ʒ ʔ β θ ᵻ y yː ɨ ɯ ɕ ʂ ʐ tɕ").split()
SIZES = {
    "tiny": {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64,
             "conv_dim": [32] * 7, "num_conv_pos_embeddings": 16, "num_conv_pos_embedding_groups": 4},
    "large": {"hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16, "intermediate_size": 4096,
              "conv_dim": [512] * 7, "num_conv_pos_embeddings": 128, "num_conv_pos_embedding_groups": 16},
}


def make(out: Path, size: str = "tiny", seed: int = 0) -> Path:
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2ForCTC

    out.mkdir(parents=True, exist_ok=True)
    vocab = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3} | {p: i + 4 for i, p in enumerate(PHONES)}
    torch.manual_seed(seed)
    config = Wav2Vec2Config(
        vocab_size=len(vocab), pad_token_id=0, bos_token_id=1, eos_token_id=2, ctc_loss_reduction="mean",
        feat_extract_norm="layer", do_stable_layer_norm=True, conv_bias=True, feat_proj_dropout=0.0,
        mask_time_prob=0.0, architectures=["Wav2Vec2ForCTC"], **SIZES[size])
    model = Wav2Vec2ForCTC(config).eval()
    model.save_pretrained(str(out), safe_serialization=True)
    _write(out / "vocab.json", vocab)
    _write(out / "tokenizer_config.json", {
        "tokenizer_class": "Wav2Vec2PhonemeCTCTokenizer", "do_phonemize": True, "phonemizer_lang": "en-us",
        "phonemizer_backend": "espeak", "word_delimiter_token": "|", "phone_delimiter_token": " ",
        "pad_token": "<pad>", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"})
    _write(out / "special_tokens_map.json", {"bos_token": "<s>", "eos_token": "</s>", "pad_token": "<pad>",
                                             "unk_token": "<unk>"})
    _write(out / "preprocessor_config.json", {
        "feature_extractor_type": "Wav2Vec2FeatureExtractor", "feature_size": 1, "sampling_rate": 16000,
        "padding_side": "right", "padding_value": 0.0, "do_normalize": True, "return_attention_mask": True})
    return out


def _write(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--size", choices=sorted(SIZES), default="tiny")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(make(args.out, args.size, args.seed))


if __name__ == "__main__":
    main()
