"""README's table of the libraries' own tests quotes the counts of the replayed fixtures."""

from __future__ import annotations

import re

import test_keras_own_tests as keras
import test_optax_own_tests as optax
import test_sklearn_own_tests as sklearn
import test_torch_own_tests as torch
from helpers import ROOT


def _counts() -> dict[str, tuple[int, int, int, str]]:
    """library -> (in scope, agreeing, out of scope, page) from each replay module."""
    return {
        "PyTorch": (
            len(torch.CASES),
            len(torch.CASES) - len(torch.GAPS),
            len(torch.FIXTURE["out_of_scope"]),
            "docs/own-tests-torch.md",
        ),
        "Keras": (
            len(keras.IN_SCOPE),
            len(keras.IN_SCOPE) - len(keras.GAPS),
            len(keras.OUT_OF_SCOPE),
            "docs/own-tests-keras.md",
        ),
        "scikit-learn": (
            len(sklearn.CASES),
            len(sklearn.CASES) - len(sklearn.GAPS),
            len(sklearn.OUT_OF_SCOPE),
            "docs/own-tests-sklearn.md",
        ),
        "optax": (
            len(optax.CASES),
            len(optax.CASES) - len(optax.GAPS),
            len(optax.OUT_OF_SCOPE),
            "docs/own-tests-optax.md",
        ),
    }


def test_readme_quotes_each_librarys_counts():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = {}
    for line in readme.splitlines():
        m = re.match(
            r"\| (PyTorch|Keras|scikit-learn|optax)\b.*?\| (\d+) \| (\d+) \| (\d+) \| (\S+) \|$",
            line,
        )
        if m:
            rows[m.group(1)] = (int(m.group(2)), int(m.group(3)), int(m.group(4)), m.group(5))
    assert rows == _counts()
    for _, _, _, page in rows.values():
        assert (ROOT / page).is_file(), page
