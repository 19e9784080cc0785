"""Learned stage-1 backends (optional extra ``pip install -e .[neural]``): NVIDIA Audio2Face-3D regression
models through onnxruntime, and wav2vec2 phoneme CTC models through transformers.

Nothing here is imported unless a user asks for a learned backend, so the built-in path never pays for
onnxruntime, torch or transformers. ``bpy`` is never imported here.
"""
