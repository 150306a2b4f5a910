"""``--from-logits`` on columns that hold probabilities: one ``warning:`` line on stderr.

The number itself is what was asked for (probabilities read as logits), so it is
still printed; the warning says why it is probably not the wanted one.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from helpers import cli

BINARY = "y,pred\n0,0.2\n1,0.9\n0,0.3\n1,0.6\n"
SOFTMAX = "y,p_0,p_1,p_2\n0,0.7,0.2,0.1\n2,0.1,0.1,0.8\n1,0.3,0.4,0.3\n"


def warnings_of(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("warning:")]


def bce_of_logits(y, z):
    return float(np.mean(np.logaddexp(0, z) - y * z))


@pytest.mark.parametrize("quiet", [[], ["--quiet"]])
def test_probabilities_read_as_logits_warn(tmp_path, capsys, quiet):
    path = tmp_path / "p.csv"
    path.write_text(BINARY)
    code, out, err = cli(
        capsys, "eval", path, "-l", "bce", "--from-logits", "--format", "json", *quiet
    )
    assert code == 0, err
    (line,) = warnings_of(err)
    assert err.splitlines() == [line]
    assert "p.csv" in line and "'pred'" not in line and "pred lies in [0, 1]" in line
    assert "drop --from-logits" in line
    value = json.loads(out)["results"][0]["value"]
    y, z = np.array([0, 1, 0, 1.0]), np.array([0.2, 0.9, 0.3, 0.6])
    assert value == pytest.approx(bce_of_logits(y, z), rel=1e-12)


def test_softmax_rows_read_as_logits_warn(tmp_path, capsys):
    path = tmp_path / "k.csv"
    path.write_text(SOFTMAX)
    for args in (["eval", path], ["eval", path, "--reduction", "none"], ["grad", path]):
        code, _, err = cli(capsys, *args, "-l", "cross_entropy", "--from-logits")
        assert code == 0, err
        (line,) = warnings_of(err)
        assert "p_0, p_1, p_2 lies in [0, 1] and every row sums to 1" in line


@pytest.mark.parametrize(
    ("text", "args"),
    [
        (BINARY, ["-l", "bce"]),  # probabilities read as probabilities
        ("y,pred\n0,-1.2\n1,2.9\n0,0.3\n1,0.6\n", ["-l", "bce", "--from-logits"]),
        # in [0, 1] but the rows are not a distribution: could be logits
        ("y,p_0,p_1,p_2\n0,0.7,0.9,0.1\n2,0.1,0.1,0.8\n", ["-l", "cross_entropy", "--from-logits"]),
        ("y,pred\n0,0.2\n1,0.9\n2,0.3\n", ["-l", "poisson", "--from-logits"]),  # log-rates
    ],
)
def test_no_warning_otherwise(tmp_path, capsys, text, args):
    path = tmp_path / "x.csv"
    path.write_text(text)
    code, _, err = cli(capsys, "eval", path, *args)
    assert code == 0, err
    assert warnings_of(err) == []


def test_one_logit_outside_late_in_a_large_file_means_no_warning(tmp_path, capsys):
    """The whole pass decides, not the first batch."""
    rng = np.random.default_rng(3)
    n = 200_000
    frame = pd.DataFrame({"y": rng.integers(0, 2, n), "pred": rng.uniform(0, 1, n)})
    frame.loc[n - 2, "pred"] = 3.5
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    code, _, err = cli(capsys, "eval", path, "-l", "bce", "--from-logits")
    assert code == 0, err
    assert warnings_of(err) == []
    frame.loc[n - 2, "pred"] = 0.5
    frame.to_csv(path, index=False)
    code, _, err = cli(capsys, "eval", path, "-l", "bce", "--from-logits")
    assert code == 0, err
    assert len(warnings_of(err)) == 1


def test_python_api_warns(tmp_path):
    import losscli

    path = tmp_path / "p.csv"
    path.write_text(BINARY)
    with pytest.warns(UserWarning, match="look like probabilities"):
        losscli.evaluate_file(str(path), "bce", from_logits=True)


def test_a_conventions_logits_default_warns_with_its_own_fix(tmp_path, capsys):
    """optax's dice_loss reads logits by default: the fix is --no-from-logits."""
    path = tmp_path / "p.csv"
    path.write_text(BINARY)
    code, _, err = cli(capsys, "eval", path, "-l", "dice", "--convention", "optax", "-q")
    assert code == 0, err
    (line,) = warnings_of(err)
    assert "the convention's default" in line and "add --no-from-logits" in line
    code, _, err = cli(
        capsys, "eval", path, "-l", "dice", "--convention", "optax", "--no-from-logits", "-q"
    )
    assert code == 0 and warnings_of(err) == [], err


@pytest.mark.parametrize("loss", [None, "hinge", "squared_hinge,perceptron"])
def test_probabilities_read_as_margin_scores_warn(tmp_path, capsys, loss):
    """The margin losses read raw scores s (t·s ≥ 1 is a margin): probabilities in [0, 1]
    with ±1 targets give hinge values that mean nothing, so a warning names them; the
    scores of a model (some outside [0, 1]) do not."""
    rng = np.random.default_rng(15)
    y = rng.choice([-1, 1], 300)
    probabilities = tmp_path / "p.csv"
    pd.DataFrame({"y": y, "score": rng.uniform(size=300)}).to_csv(probabilities, index=False)
    args = [] if loss is None else ["-l", loss]
    code, _, err = cli(capsys, "eval", probabilities, *args)
    assert code == 0, err
    (line,) = warnings_of(err)
    reader = loss or "hinge,squared_hinge"
    assert f"but {reader.replace(',', ', ')} read" in line
    assert "score lies in [0, 1]" in line and "raw margin scores" in line
    scores = tmp_path / "s.csv"
    pd.DataFrame({"y": y, "score": y + rng.normal(0, 1, 300)}).to_csv(scores, index=False)
    code, _, err = cli(capsys, "eval", scores, *args)
    assert code == 0 and warnings_of(err) == [], err
