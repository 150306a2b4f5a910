"""One-hot target columns (Keras's layout) are class labels for multiclass losses.

``categorical_focal`` reads them as labels (softmax focal on p_y), ``sigmoid_focal``
as K binary labels; plain ``focal`` on one-hot rows against softmax rows is refused
as ambiguous. multi_hinge, multi_margin, nll and lovasz_softmax read one-hot rows as
labels; a row that is not one-hot is an error naming it. Values are checked against
the formulas written out here (and torch's, where it is installed).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import cli, error_lines

P = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.3, 0.4, 0.3], [0.25, 0.5, 0.25]])
LABELS = np.array([0, 2, 1, 0])
ONE_HOT = np.eye(3)[LABELS]
Z = np.array([[2.0, -1.0, 0.5], [0.1, 0.3, 3.0], [-0.5, 1.5, 0.2], [1.0, 1.0, -2.0]])


def write(tmp_path, preds=P, targets=ONE_HOT, name="oh.csv"):
    header = ["y_0", "y_1", "y_2", "p_0", "p_1", "p_2"]
    rows = [",".join(header)]
    rows += [",".join(f"{v:g}" for v in [*t, *p]) for t, p in zip(targets, preds)]
    path = tmp_path / name
    path.write_text("\n".join(rows) + "\n")
    return path


def refused_row(tmp_path, capsys, loss: str, row: int, targets: list[float]):
    """The error lines of ``eval -l LOSS`` on ONE_HOT with row ``row`` replaced by ``targets``."""
    changed = ONE_HOT.copy()
    changed[row] = targets
    path = write(tmp_path, targets=changed)
    return error_lines(*cli(capsys, "eval", path, "-l", loss))


def value(capsys, *args):
    code, out, err = cli(capsys, "eval", *args, "--format", "json")
    assert code == 0, err
    return json.loads(out)["results"][0]["value"]


def categorical_focal(p, labels, gamma=2.0, alpha=1.0):
    """Keras categorical_focal_crossentropy per row: −Σ_c α (1 − p_c)^γ y_c log p_c."""
    y = np.eye(p.shape[1])[labels]
    return float(np.mean(-np.sum(alpha * (1 - p) ** gamma * y * np.log(p), axis=1)))


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_categorical_focal_reads_one_hot_rows_as_labels(tmp_path, capsys):
    path = write(tmp_path)
    got = value(capsys, path, "-l", "categorical_focal")
    assert got == pytest.approx(categorical_focal(P, LABELS), rel=1e-12)
    # the same as one label column
    labelled = tmp_path / "labels.csv"
    labelled.write_text(
        "y,p_0,p_1,p_2\n" + "".join(f"{y},{p[0]},{p[1]},{p[2]}\n" for y, p in zip(LABELS, P))
    )
    assert value(capsys, labelled, "-l", "categorical_focal") == pytest.approx(got, rel=1e-12)


def test_categorical_focal_keras_convention(tmp_path, capsys):
    """Keras multiplies by α = 0.25 always (CategoricalFocalCrossentropy)."""
    path = write(tmp_path)
    got = value(capsys, path, "-l", "categorical_focal", "--convention", "keras", "-q")
    assert got == pytest.approx(categorical_focal(P, LABELS, alpha=0.25), rel=1e-9)


def test_categorical_focal_from_logits(tmp_path, capsys):
    path = write(tmp_path, preds=Z)
    got = value(capsys, path, "-l", "categorical_focal", "--from-logits")
    assert got == pytest.approx(categorical_focal(softmax(Z), LABELS), rel=1e-12)


def test_categorical_focal_against_torch(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    path = write(tmp_path, preds=Z)
    ce = torch.nn.functional.cross_entropy(torch.tensor(Z), torch.tensor(LABELS), reduction="none")
    expected = float(((1 - torch.exp(-ce)) ** 2 * ce).mean())
    got = value(capsys, path, "-l", "categorical_focal", "--from-logits")
    assert got == pytest.approx(expected, rel=1e-12)


def test_sigmoid_focal_keeps_the_columns_apart(tmp_path, capsys):
    path = write(tmp_path)
    got = value(capsys, path, "-l", "sigmoid_focal")
    pt = np.where(ONE_HOT == 1, P, 1 - P)
    assert got == pytest.approx(float(np.mean(-((1 - pt) ** 2) * np.log(pt))), rel=1e-12)


@pytest.mark.parametrize("logits", [False, True])
def test_plain_focal_on_one_hot_softmax_rows_is_refused(tmp_path, capsys, logits):
    path = write(tmp_path, preds=Z if logits else P)
    extra = ["--from-logits"] if logits else []
    line, hint = error_lines(*cli(capsys, "eval", path, "-l", "focal", *extra))
    assert "oh.csv" in line and "3 one-hot target columns" in line
    assert "--loss categorical_focal" in hint and "--loss sigmoid_focal" in hint


def test_plain_focal_on_multilabel_targets_is_sigmoid_focal(tmp_path, capsys):
    targets = np.array([[1, 0, 1], [0, 0, 1], [0, 1, 0], [1, 1, 0]])
    preds = np.array([[0.7, 0.2, 0.6], [0.1, 0.1, 0.8], [0.3, 0.4, 0.3], [0.6, 0.5, 0.2]])
    path = write(tmp_path, preds=preds, targets=targets)
    pt = np.where(targets == 1, preds, 1 - preds)
    got = value(capsys, path, "-l", "focal")
    assert got == pytest.approx(float(np.mean(-((1 - pt) ** 2) * np.log(pt))), rel=1e-12)


def test_categorical_focal_refuses_rows_that_are_not_one_hot(tmp_path, capsys):
    line, hint = refused_row(tmp_path, capsys, "categorical_focal", 2, [0, 1, 1])
    assert "row 2" in line and "(line 4)" in line and "not a one-hot row" in line
    assert "sigmoid_focal" in hint


def test_sigmoid_focal_on_one_label_column_is_refused(tmp_path, capsys):
    path = tmp_path / "labels.csv"
    path.write_text("y,p_0,p_1,p_2\n0,0.7,0.2,0.1\n2,0.1,0.1,0.8\n")
    line, hint = error_lines(*cli(capsys, "eval", path, "-l", "sigmoid_focal"))
    assert "one label column" in line and "categorical_focal" in hint


@pytest.mark.parametrize("loss", ["multi_hinge", "multi_margin", "lovasz_softmax", "cross_entropy"])
def test_multiclass_losses_read_one_hot_rows_as_labels(tmp_path, capsys, loss):
    one_hot = write(tmp_path)
    labelled = tmp_path / "labels.csv"
    labelled.write_text(
        "y,p_0,p_1,p_2\n" + "".join(f"{y},{p[0]},{p[1]},{p[2]}\n" for y, p in zip(LABELS, P))
    )
    # the one-hot columns are found without --target (no label column in the file)
    assert value(capsys, one_hot, "-l", loss) == pytest.approx(
        value(capsys, labelled, "-l", loss), rel=1e-12
    )


def test_multi_hinge_keras_categorical_hinge_on_one_hot(tmp_path, capsys):
    """Keras categorical_hinge: max(0, 1 + max_c (1 − y_c) s_c − Σ y_c s_c)."""
    path = write(tmp_path, preds=Z)
    got = value(capsys, path, "-l", "multi_hinge", "--convention", "keras", "-q")
    neg = np.max((1 - ONE_HOT) * Z, axis=1)
    pos = np.sum(ONE_HOT * Z, axis=1)
    assert got == pytest.approx(float(np.mean(np.maximum(0, 1 + neg - pos))), rel=1e-12)


def test_multi_hinge_refuses_soft_rows(tmp_path, capsys):
    line, _ = refused_row(tmp_path, capsys, "multi_hinge", 1, [0.5, 0, 0.5])
    assert "row 1" in line and "not a one-hot row" in line and "y_0, y_1, y_2" in line


def test_categorical_focal_gradient_against_torch_autograd(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    path = write(tmp_path, preds=Z)
    z = torch.tensor(Z, requires_grad=True)
    logp = torch.log_softmax(z, dim=1)[torch.arange(len(LABELS)), torch.tensor(LABELS)]
    (-((1 - logp.exp()) ** 2) * logp).mean().backward()
    code, out, err = cli(capsys, "grad", path, "-l", "categorical_focal", "--from-logits")
    assert code == 0, err
    rows = [line.split(",") for line in out.splitlines()[1:]]
    got = np.array([[float(v) for v in row[1:]] for row in rows])
    assert np.allclose(got, z.grad.numpy(), rtol=1e-10, atol=1e-14)
