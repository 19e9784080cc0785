"""The decoder's DC and rumble filter: a 2nd-order Butterworth high-pass, streamed block by block.

It is the filter ``scipy.signal.butter`` + ``lfilter`` make (tests/test_decode.py holds the two equal), written
here because importing scipy.signal costs half a second, more than half of a cold ``vividtalk animate`` on a
short line. A recursive filter is one sample after another in plain NumPy; here each run of ``BLOCK`` samples is
one matrix product instead: its output is its input times a fixed lower-triangular (Toeplitz) matrix of the
impulse response, plus the filter's state carried in from the run before, and the state carried out is linear
in both too. Only the 2-number state steps from run to run in Python.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

BLOCK = 256


@dataclass(frozen=True)
class _Design:
    """One cutoff and rate's filter in block form (transposed direct form II as state space: y = s[0] + d x,
    s' = A s + g x), its arrays read-only so every filter of that cutoff and rate can share them."""

    within: np.ndarray  # (BLOCK, BLOCK) a block's input -> its output
    from_state: np.ndarray  # (BLOCK, 2) the state entering a block -> its output
    carry: np.ndarray  # (2, 2) state -> state across a whole block
    to_state: np.ndarray  # (2, BLOCK) a block's input -> the state after it
    rest: np.ndarray  # (2,) the state a constant input of 1 settles to
    step: np.ndarray  # (2, 2) A: state -> state for one sample
    gain: np.ndarray  # (2,) g: input -> state for one sample
    direct: float  # d: input -> output for one sample


class Highpass:
    """``Highpass(cutoff_hz, sample_rate)(x)`` filters consecutive pieces of one signal (state carried across
    calls); the first piece starts from rest at its first sample's level (as ``lfilter_zi`` would)."""

    def __init__(self, cutoff_hz: float, sample_rate: int) -> None:
        self._design = _design(float(cutoff_hz), int(sample_rate))
        self.state: np.ndarray | None = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        d = self._design
        x = np.asarray(x, np.float64)
        if self.state is None:
            self.state = d.rest * (x[0] if len(x) else 0.0)
        whole = len(x) // BLOCK * BLOCK
        blocks = x[:whole].reshape(-1, BLOCK)
        states = np.empty((len(blocks), 2))
        state = self.state
        pushed = blocks @ d.to_state.T  # each block's own contribution to the state after it
        for i in range(len(blocks)):
            states[i] = state
            state = d.carry @ state + pushed[i]
        y = np.empty(len(x))
        y[:whole] = (blocks @ d.within.T + states @ d.from_state.T).ravel()
        for n in range(whole, len(x)):  # the tail shorter than a block, sample by sample
            y[n] = state[0] + d.direct * x[n]
            state = d.step @ state + d.gain * x[n]
        self.state = state
        return y.astype(np.float32)


@functools.cache
def _design(cutoff_hz: float, sample_rate: int) -> _Design:
    """The filter of that cutoff and rate in block form (cached: building it costs more than filtering a short
    line)."""
    k = math.tan(math.pi * cutoff_hz / sample_rate)  # the bilinear transform, prewarped at the cutoff
    norm = 1.0 / (1.0 + math.sqrt(2.0) * k + k * k)
    b0, b1, b2 = norm, -2.0 * norm, norm
    a1, a2 = 2.0 * (k * k - 1.0) * norm, (1.0 - math.sqrt(2.0) * k + k * k) * norm
    a = np.array([[-a1, 1.0], [-a2, 0.0]])
    g = np.array([b1 - a1 * b0, b2 - a2 * b0])
    powers = [np.eye(2)]
    for _ in range(BLOCK):
        powers.append(a @ powers[-1])
    impulse = np.array([b0] + [powers[m - 1][0] @ g for m in range(1, BLOCK)])  # h[0], h[1], ...
    index = np.arange(BLOCK)
    lag = index[:, None] - index[None, :]
    design = _Design(within=np.where(lag >= 0, impulse[np.clip(lag, 0, None)], 0.0),
                     from_state=np.array([powers[j][0] for j in range(BLOCK)]), carry=powers[BLOCK],
                     to_state=np.stack([powers[BLOCK - 1 - j] @ g for j in range(BLOCK)], axis=1),
                     rest=np.linalg.solve(np.eye(2) - a, g), step=a, gain=g, direct=b0)
    for array in (design.within, design.from_state, design.carry, design.to_state, design.rest, a, g):
        array.flags.writeable = False
    return design
