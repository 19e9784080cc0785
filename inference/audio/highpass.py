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

import numpy as np

BLOCK = 256


class Highpass:
    """``Highpass(cutoff_hz, sample_rate)(x)`` filters consecutive pieces of one signal (state carried across
    calls); the first piece starts from rest at its first sample's level (as ``lfilter_zi`` would)."""

    def __init__(self, cutoff_hz: float, sample_rate: int) -> None:
        (self.b, self.a, self._within, self._from_state, self._carry, self._to_state, self._rest, self._a, self._g,
         self._c, self._d) = _design(float(cutoff_hz), int(sample_rate))
        self.state: np.ndarray | None = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float64)
        if self.state is None:
            self.state = self._rest * (x[0] if len(x) else 0.0)
        whole = len(x) // BLOCK * BLOCK
        blocks = x[:whole].reshape(-1, BLOCK)
        states = np.empty((len(blocks), 2))
        state = self.state
        pushed = blocks @ self._to_state.T  # each block's own contribution to the state after it
        for i in range(len(blocks)):
            states[i] = state
            state = self._carry @ state + pushed[i]
        y = np.empty(len(x))
        y[:whole] = (blocks @ self._within.T + states @ self._from_state.T).ravel()
        for n in range(whole, len(x)):  # the tail shorter than a block, sample by sample
            y[n] = self._c @ state + self._d * x[n]
            state = self._a @ state + self._g * x[n]
        self.state = state
        return y.astype(np.float32)


@functools.cache
def _design(cutoff_hz: float, sample_rate: int) -> tuple:
    """The filter's coefficients and block matrices (read-only; shared by every filter of that cutoff and rate:
    building them costs more than filtering a short line)."""
    k = math.tan(math.pi * cutoff_hz / sample_rate)  # the bilinear transform, prewarped at the cutoff
    norm = 1.0 / (1.0 + math.sqrt(2.0) * k + k * k)
    b = np.array([norm, -2.0 * norm, norm])
    a_coef = np.array([1.0, 2.0 * (k * k - 1.0) * norm, (1.0 - math.sqrt(2.0) * k + k * k) * norm])
    b0, b1, b2 = b
    _, a1, a2 = a_coef
    # transposed direct form II as state space: y = c.s + d x, s' = A s + g x
    a = np.array([[-a1, 1.0], [-a2, 0.0]])
    g = np.array([b1 - a1 * b0, b2 - a2 * b0])
    powers = [np.eye(2)]
    for _ in range(BLOCK):
        powers.append(a @ powers[-1])
    impulse = np.array([b0] + [powers[m - 1][0] @ g for m in range(1, BLOCK)])  # h[0], h[1], ...
    index = np.arange(BLOCK)
    lag = index[:, None] - index[None, :]
    within = np.where(lag >= 0, impulse[np.clip(lag, 0, None)], 0.0)  # (BLOCK, BLOCK) input -> output
    from_state = np.array([powers[k][0] for k in range(BLOCK)])  # (BLOCK, 2) state -> output
    carry = powers[BLOCK]  # state -> state across a whole block
    to_state = np.stack([powers[BLOCK - 1 - j] @ g for j in range(BLOCK)], axis=1)  # (2, BLOCK)
    rest = np.linalg.solve(np.eye(2) - a, g)  # the state a constant input of 1 settles to
    design = (b, a_coef, within, from_state, carry, to_state, rest, a, g, np.array([1.0, 0.0]), b0)
    for m in design:
        if isinstance(m, np.ndarray):
            m.flags.writeable = False
    return design
