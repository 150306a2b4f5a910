"""Generalized Dice, focal Tversky and the Lovász losses against their papers' definitions.

generalized_dice: Sudre et al. (2017) with w_c = 1/(ΣY_c)² (MONAI's rule for an empty
class); focal_tversky: Abraham & Khan (2019), exponent convention (1 − TI)^γ; Lovász
hinge and Lovász-softmax: an independent NumPy re-implementation of the authors'
reference algorithm (``lovasz_grad``), the Lovász extension computed as a Choquet
integral over level sets on small inputs, and torch autograd of the reference code.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import cli

import losscli


def rng_for(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def segmentation(seed: int, n: int = 300, k: int = 4):
    rng = rng_for(seed)
    labels = rng.choice(k, size=n, p=np.linspace(1, 0.2, k) / np.linspace(1, 0.2, k).sum())
    return labels, rng.dirichlet(np.ones(k), n)


# ---------------------------------------------------------------- generalized Dice


def sudre(y: np.ndarray, p: np.ndarray) -> float:
    """1 − 2Σ_c w_c Σᵢ y p / Σ_c w_c Σᵢ (y + p), w_c = 1/(Σᵢ y)² (Sudre et al., eq. 2)."""
    w = 1.0 / y.sum(axis=0) ** 2
    return 1.0 - 2.0 * np.sum(w * (y * p).sum(axis=0)) / np.sum(w * (y + p).sum(axis=0))


def test_generalized_dice_is_sudres_formula():
    labels, p = segmentation(0)
    y = np.eye(4)[labels]
    got = losscli.evaluate(labels, p, "generalized_dice", smooth=0.0)
    np.testing.assert_allclose(got, sudre(y, p), rtol=1e-12)
    # K mask columns
    masks = (rng_for(1).uniform(size=(200, 3)) < 0.3).astype(float)
    q = rng_for(2).uniform(0.05, 0.95, (200, 3))
    got = losscli.evaluate(masks, q, "generalized_dice", smooth=0.0)
    np.testing.assert_allclose(got, sudre(masks, q), rtol=1e-12)
    # one probability column: background and foreground classes
    y1, p1 = masks[:, 0], q[:, 0]
    got = losscli.evaluate(y1, p1, "generalized_dice", smooth=0.0)
    two = np.stack([1 - y1, y1], axis=1), np.stack([1 - p1, p1], axis=1)
    np.testing.assert_allclose(got, sudre(*two), rtol=1e-12)


def test_generalized_dice_smoothing_uses_normalised_weights():
    labels, p = segmentation(3)
    y = np.eye(4)[labels]
    raw = 1.0 / y.sum(axis=0) ** 2
    w = raw / raw.sum()
    s = 0.5
    expected = 1 - (2 * np.sum(w * (y * p).sum(0)) + s) / (np.sum(w * (y + p).sum(0)) + s)
    got = losscli.evaluate(labels, p, "generalized_dice", smooth=s)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    # the default s = 1e-6 leaves a large segmentation's value where s = 0 puts it
    labels, p = segmentation(4, n=20000)
    np.testing.assert_allclose(
        losscli.evaluate(labels, p, "generalized_dice"),
        losscli.evaluate(labels, p, "generalized_dice", smooth=0.0),
        rtol=1e-7,
    )


def test_generalized_dice_absent_class_takes_the_largest_weight_as_monai():
    labels, p = segmentation(5, k=4)
    labels[labels == 3] = 0  # class 3 absent from the targets, still predicted
    y = np.eye(4)[labels]
    ground = y.sum(axis=0)
    with np.errstate(divide="ignore"):
        w = 1.0 / ground**2
    w[np.isinf(w)] = 0.0
    w[ground == 0] = w.max()  # MONAI GeneralizedDiceLoss: infs → max(w)
    monai = 1 - 2 * np.sum(w * (y * p).sum(0)) / np.sum(w * (y + p).sum(0))
    got = losscli.evaluate(labels, p, "generalized_dice", smooth=0.0)
    np.testing.assert_allclose(got, monai, rtol=1e-12)


def test_generalized_dice_integer_weights_repeat_rows_and_groups_are_separate():
    labels, p = segmentation(6, n=120)
    w = rng_for(7).integers(1, 4, 120)
    np.testing.assert_allclose(
        losscli.evaluate(labels, p, "generalized_dice", weights=w.astype(float)),
        losscli.evaluate(np.repeat(labels, w), np.repeat(p, w, axis=0), "generalized_dice"),
        rtol=1e-12,
    )
    acc = losscli.Accumulator("generalized_dice")
    acc.update(labels[:60], p[:60]).update(labels[60:], p[60:])
    np.testing.assert_allclose(
        acc.value(), losscli.evaluate(labels, p, "generalized_dice"), rtol=1e-14
    )


# ---------------------------------------------------------------- focal Tversky


def tversky_index(y, p, alpha, beta, s=1e-6):
    tp = (y * p).sum(0)
    fp = ((1 - y) * p).sum(0)
    fn = (y * (1 - p)).sum(0)
    return (tp + s) / (tp + alpha * fp + beta * fn + s)


def test_focal_tversky_is_the_mean_of_one_minus_ti_to_the_gamma():
    labels, p = segmentation(8)
    y = np.eye(4)[labels]
    for alpha, beta, gamma in [(0.3, 0.7, 0.75), (0.5, 0.5, 2.0), (0.7, 0.3, 1.0)]:
        ti = tversky_index(y, p, alpha, beta)
        got = losscli.evaluate(labels, p, "focal_tversky", alpha=alpha, beta=beta, gamma=gamma)
        np.testing.assert_allclose(got, np.mean((1 - ti) ** gamma), rtol=1e-12)
    np.testing.assert_allclose(
        losscli.evaluate(labels, p, "focal_tversky", alpha=0.5, beta=0.5, gamma=1.0, smooth=0.0),
        losscli.evaluate(labels, p, "dice", smooth=0.0),
        rtol=1e-12,
    )


def test_focal_tversky_defaults_are_abraham_and_khans_setting():
    """Their FTL = Σ_c (1 − TI_c)^(1/γ) with γ = 4/3 and α = 0.7 on false negatives."""
    labels, p = segmentation(9)
    y = np.eye(4)[labels]
    tp = (y * p).sum(0)
    fn = (y * (1 - p)).sum(0)  # their Σ p_{i c̄} g_{ic}
    fp = ((1 - y) * p).sum(0)  # their Σ p_{ic} g_{i c̄}
    a_paper, b_paper, g_paper, eps = 0.7, 0.3, 4 / 3, 1e-6
    ti = (tp + eps) / (tp + a_paper * fn + b_paper * fp + eps)
    ftl = np.sum((1 - ti) ** (1 / g_paper))
    np.testing.assert_allclose(losscli.evaluate(labels, p, "focal_tversky") * 4, ftl, rtol=1e-12)


def test_focal_tversky_gradient_is_finite_at_a_perfect_class():
    y = np.array([0.0, 1.0, 1.0, 0.0])
    p = y.copy()  # TI = 1: (1 − TI)^(γ−1) would be infinite for γ < 1
    assert losscli.evaluate(y, p, "focal_tversky") == 0.0
    assert np.all(losscli.gradient(y, p, "focal_tversky") == 0.0)


# ---------------------------------------------------------------- Lovász: the reference algorithm


def lovasz_grad(gt_sorted: np.ndarray) -> np.ndarray:
    """Berman et al.'s ``lovasz_grad``, line by line in NumPy."""
    gts = gt_sorted.sum()
    intersection = gts - np.cumsum(gt_sorted)
    union = gts + np.cumsum(1.0 - gt_sorted)
    jaccard = 1.0 - intersection / union
    if len(gt_sorted) > 1:
        jaccard[1:] = jaccard[1:] - jaccard[:-1]
    return jaccard


def reference_hinge(scores: np.ndarray, labels: np.ndarray) -> float:
    errors = 1.0 - scores * (2.0 * labels - 1.0)
    perm = np.argsort(-errors, kind="stable")
    return float(np.dot(np.maximum(errors[perm], 0.0), lovasz_grad(labels[perm])))


def reference_softmax(probas: np.ndarray, labels: np.ndarray) -> float:
    losses = []
    for c in range(probas.shape[1]):
        fg = (labels == c).astype(float)
        if fg.sum() == 0:  # classes='present'
            continue
        errors = np.abs(fg - probas[:, c])
        perm = np.argsort(-errors, kind="stable")
        losses.append(np.dot(errors[perm], lovasz_grad(fg[perm])))
    return float(np.mean(losses))


def jaccard_loss(mispredicted: np.ndarray, labels: np.ndarray) -> float:
    """Δ(M) = 1 − |P \\ M| / |P ∪ M| of a set M of rows (P the positives)."""
    positives = labels > 0
    union = np.sum(positives | mispredicted)
    return 0.0 if union == 0 else 1.0 - np.sum(positives & ~mispredicted) / union


def choquet(errors: np.ndarray, labels: np.ndarray) -> float:
    """The Lovász extension as the integral over θ ≥ 0 of Δ({i: eᵢ ≥ θ}) (level sets)."""
    levels = np.unique(np.maximum(errors, 0.0))[::-1]
    total = 0.0
    for j, level in enumerate(levels):
        lower = levels[j + 1] if j + 1 < len(levels) else 0.0
        total += (level - lower) * jaccard_loss(errors >= level, labels)
    return total


@pytest.mark.parametrize("seed", range(5))
def test_lovasz_hinge_matches_the_reference_algorithm_and_the_choquet_integral(seed):
    rng = rng_for(seed)
    n = int(rng.integers(2, 9))
    labels = rng.integers(0, 2, n).astype(float)
    scores = rng.normal(0, 1.5, n)
    got = losscli.evaluate(labels, scores, "lovasz_hinge")
    np.testing.assert_allclose(got, reference_hinge(scores, labels), rtol=1e-12)
    np.testing.assert_allclose(got, choquet(1 - scores * (2 * labels - 1), labels), rtol=1e-12)
    big = rng.integers(0, 2, 500).astype(float), rng.normal(0, 2, 500)
    np.testing.assert_allclose(
        losscli.evaluate(*big, "lovasz_hinge"), reference_hinge(big[1], big[0]), rtol=1e-12
    )


@pytest.mark.parametrize("from_logits", [False, True], ids=["probabilities", "logits"])
def test_lovasz_softmax_matches_the_reference_algorithm(from_logits):
    labels, p = segmentation(10, n=400)
    labels[labels == 2] = 1  # class 2 absent: the mean is over the present classes
    x = np.log(p) + 3.0 if from_logits else p
    got = losscli.evaluate(labels, x, "lovasz_softmax", from_logits=from_logits)
    np.testing.assert_allclose(got, reference_softmax(p, labels), rtol=1e-12)


def test_lovasz_of_hard_errors_is_one_minus_iou():
    labels = np.array([1, 1, 1, 0, 0, 0, 1, 0], dtype=float)
    predicted = np.array([1, 0, 1, 1, 0, 0, 1, 1], dtype=float)
    scores = np.where(predicted == labels, 2 * labels - 1, 0.0)  # error 0 if right, 1 if wrong
    iou = np.sum((labels == 1) & (predicted == 1)) / np.sum((labels == 1) | (predicted == 1))
    np.testing.assert_allclose(losscli.evaluate(labels, scores, "lovasz_hinge"), 1 - iou)


def test_lovasz_integer_weights_repeat_rows():
    rng = rng_for(11)
    labels, scores = rng.integers(0, 2, 60).astype(float), rng.normal(0, 1.5, 60)
    w = rng.integers(1, 4, 60)
    np.testing.assert_allclose(
        losscli.evaluate(labels, scores, "lovasz_hinge", weights=w.astype(float)),
        reference_hinge(np.repeat(scores, w), np.repeat(labels, w)),
        rtol=1e-12,
    )
    classes, p = segmentation(12, n=60)
    np.testing.assert_allclose(
        losscli.evaluate(classes, p, "lovasz_softmax", weights=w.astype(float)),
        reference_softmax(np.repeat(p, w, axis=0), np.repeat(classes, w)),
        rtol=1e-12,
    )
    # a repeated row's gradient is its copies' gradients added
    g = losscli.gradient(labels, scores, "lovasz_hinge", weights=w.astype(float))
    g_rep = losscli.gradient(np.repeat(labels, w), np.repeat(scores, w), "lovasz_hinge")
    np.testing.assert_allclose(g, np.add.reduceat(g_rep, np.r_[0, np.cumsum(w)[:-1]]), 1e-12)


def test_lovasz_identical_rows_share_their_blocks_gradient():
    labels = np.array([1.0, 1.0, 0.0, 1.0, 0.0])
    scores = np.array([0.2, 0.2, 0.4, -0.5, -1.0])  # rows 0 and 1 identical
    g = losscli.gradient(labels, scores, "lovasz_hinge")
    assert g[0] == g[1]
    # their sum is the reference's for either order of the pair
    perm = np.argsort(-(1 - scores * (2 * labels - 1)), kind="stable")
    steps = lovasz_grad(labels[perm])
    ref = np.zeros(5)
    ref[perm] = steps
    np.testing.assert_allclose(g[0] + g[1], -(ref[0] + ref[1]), rtol=1e-12)


def test_lovasz_per_group_is_per_image_and_the_overall_row_is_over_all_rows(capsys, tmp_path):
    rng = rng_for(13)
    n = 3000
    image = np.repeat(np.arange(3), n // 3)
    labels = (rng.uniform(size=n) < 0.3).astype(int)
    scores = rng.normal(0, 2, n) + labels
    path = tmp_path / "masks.csv"
    with path.open("w") as f:
        f.write("image_id,y_true,score\n")
        for i, y, s in zip(image, labels, scores):
            f.write(f"img_{i},{y},{float(s)!r}\n")
    import json

    import losscli.io.csv_reader

    block = losscli.io.csv_reader.CSV_BLOCK
    losscli.io.csv_reader.CSV_BLOCK = 4096  # several batches
    try:
        code, out, err = cli(
            capsys,
            *("eval", path, "--loss", "lovasz_hinge", "--pred", "score"),
            *("--group", "image_id", "--format", "json"),
        )
        assert code == 0, err
        results = {r["group"]: r["value"] for r in json.loads(out)["results"]}
        np.testing.assert_allclose(results[None], reference_hinge(scores, labels), rtol=1e-12)
        for i in range(3):
            rows = image == i
            expected = reference_hinge(scores[rows], labels[rows].astype(float))
            np.testing.assert_allclose(results[f"img_{i}"], expected, rtol=1e-12)
        code, out, err = cli(capsys, "grad", path, "--loss", "lovasz_hinge", "--pred", "score")
        assert code == 0, err
    finally:
        losscli.io.csv_reader.CSV_BLOCK = block
    got = np.array([float(line.split(",")[1]) for line in out.splitlines()[1:]])
    np.testing.assert_array_equal(got, losscli.gradient(labels, scores, "lovasz_hinge"))


def test_lovasz_gradient_of_rows_the_accumulator_never_saw_is_a_usage_error():
    rng = rng_for(19)
    y, p = rng.normal(size=20), rng.normal(size=20)
    lovasz = losscli.Accumulator("lovasz_hinge").update((y[:10] > 0) * 1.0, p[:10])
    with pytest.raises(losscli.UsageError, match="not among the errors"):
        lovasz.gradient((y[10:] > 0) * 1.0, p[10:])


def test_lovasz_explain_states_the_memory_cost(capsys):
    for name in ("lovasz_hinge", "lovasz_softmax"):
        code, out, _ = cli(capsys, "explain", name)
        assert code == 0
        assert "memory (O(rows" in out
        assert "Berman et al. (2018)" in out


# ---------------------------------------------------------------- torch autograd


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def torch_lovasz_grad(torch, gt_sorted):
    gts = gt_sorted.sum()
    intersection = gts - gt_sorted.cumsum(0)
    union = gts + (1.0 - gt_sorted).cumsum(0)
    jaccard = 1.0 - intersection / union
    jaccard[1:] = jaccard[1:] - jaccard[:-1]
    return jaccard


@pytest.mark.torch
def test_lovasz_hinge_gradient_is_autograd_of_the_reference_code(torch):
    rng = rng_for(14)
    labels, scores = rng.integers(0, 2, 200).astype(float), rng.normal(0, 2, 200)
    st = torch.tensor(scores, dtype=torch.float64, requires_grad=True)
    lt = torch.tensor(labels, dtype=torch.float64)
    errors = 1.0 - st * (2.0 * lt - 1.0)
    errors_sorted, perm = torch.sort(errors, descending=True)
    loss = torch.dot(torch.relu(errors_sorted), torch_lovasz_grad(torch, lt[perm]))
    loss.backward()
    np.testing.assert_allclose(losscli.evaluate(labels, scores, "lovasz_hinge"), loss.item())
    np.testing.assert_allclose(
        losscli.gradient(labels, scores, "lovasz_hinge"), st.grad.numpy(), rtol=1e-12, atol=0
    )


@pytest.mark.torch
def test_lovasz_softmax_gradient_is_autograd_of_the_reference_code(torch):
    labels, _ = segmentation(15, n=200)
    z = rng_for(16).normal(0, 2, (200, 4))
    zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
    probas = torch.softmax(zt, dim=1)
    losses = []
    for c in range(4):
        fg = torch.tensor((labels == c).astype(float), dtype=torch.float64)
        if fg.sum() == 0:
            continue
        errors = (fg - probas[:, c]).abs()
        errors_sorted, perm = torch.sort(errors, descending=True)
        losses.append(torch.dot(errors_sorted, torch_lovasz_grad(torch, fg[perm])))
    loss = torch.stack(losses).mean()
    loss.backward()
    got = losscli.evaluate(labels, z, "lovasz_softmax", from_logits=True)
    np.testing.assert_allclose(got, loss.item(), rtol=1e-12)
    np.testing.assert_allclose(
        losscli.gradient(labels, z, "lovasz_softmax", from_logits=True),
        zt.grad.numpy(),
        rtol=1e-10,
        atol=1e-15,
    )


@pytest.mark.torch
def test_generalized_dice_and_focal_tversky_gradients_match_torch(torch):
    labels, _ = segmentation(17, n=150)
    z = rng_for(18).normal(0, 2, (150, 4))
    y = torch.tensor(np.eye(4)[labels], dtype=torch.float64)
    for loss in ("generalized_dice", "focal_tversky"):
        zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
        p = torch.softmax(zt, dim=1)
        tp, sy, sp = (y * p).sum(0), y.sum(0), p.sum(0)
        s = 1e-6
        if loss == "generalized_dice":
            w = 1.0 / sy**2
            w = w / w.sum()
            value = 1 - (2 * (w * tp).sum() + s) / ((w * (sy + sp)).sum() + s)
        else:
            ti = (tp + s) / (tp + 0.3 * (sp - tp) + 0.7 * (sy - tp) + s)
            value = ((1 - ti) ** 0.75).mean()
        value.backward()
        np.testing.assert_allclose(
            losscli.evaluate(labels, z, loss, from_logits=True), value.item(), rtol=1e-12
        )
        np.testing.assert_allclose(
            losscli.gradient(labels, z, loss, from_logits=True),
            zt.grad.numpy(),
            rtol=1e-9,
            atol=1e-15,
        )
