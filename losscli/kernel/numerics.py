"""Stable elementwise building blocks shared by the loss families.

Everything here stays finite for logits of any magnitude: sigmoids are evaluated
on the side where ``exp`` cannot overflow, and softmax goes through log-sum-exp.
"""

from __future__ import annotations

from losscli._lazy import np


def sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1 / (1 + e^(−z)), computed without overflow for any z."""
    ez = np.exp(-np.abs(z))  # in (0, 1]: never overflows
    return np.where(z >= 0, 1.0 / (1.0 + ez), ez / (1.0 + ez))


def log_sigmoid(z: np.ndarray) -> np.ndarray:
    """log σ(z) = −log(1 + e^(−z)) = −logaddexp(0, −z)."""
    return -np.logaddexp(0.0, -z)


def logsumexp(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """log Σ_c e^(z_c) along ``axis`` with the max shifted out (keeps the axis)."""
    zmax = np.max(z, axis=axis, keepdims=True)
    zmax = np.where(np.isfinite(zmax), zmax, 0.0)
    return zmax + np.log(np.sum(np.exp(z - zmax), axis=axis, keepdims=True))


def log_softmax(z: np.ndarray) -> np.ndarray:
    """log p_c = z_c − logsumexp(z) over the last axis."""
    return z - logsumexp(z)


def softmax(z: np.ndarray) -> np.ndarray:
    """p_c = exp(log_softmax(z)_c)."""
    return np.exp(log_softmax(z))


def clip_probability(p: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Clip to [eps, 1 − eps]; also return where the clip is inactive (gradient passes)."""
    inside = (p >= eps) & (p <= 1.0 - eps)
    return np.clip(p, eps, 1.0 - eps), inside


def sigmoid_backward(grad_p: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Chain rule through p = σ(z): ∂/∂z = ∂/∂p · p(1 − p)."""
    return grad_p * p * (1.0 - p)


def softmax_backward(grad_p: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Chain rule through p = softmax(z) over the last axis: p ⊙ (g − Σ_c g_c p_c)."""
    return p * (grad_p - np.sum(grad_p * p, axis=-1, keepdims=True))


def one_hot(labels: np.ndarray, k: int) -> np.ndarray:
    """Rows of the K×K identity picked by integer labels (labels already validated)."""
    n = labels.shape[0]
    out = np.zeros(n * k)
    out[np.arange(n) * k + labels] = 1.0  # one flat index: faster than [rows, labels]
    return out.reshape(n, k)
