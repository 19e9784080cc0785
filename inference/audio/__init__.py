"""Audio: decoding any format to 16 kHz mono, segmentation, phone timing, prosody."""

SAMPLE_RATE = 16000
"""Every analysis in the engine runs on 16 kHz mono float32 audio (pocketsphinx's rate)."""
