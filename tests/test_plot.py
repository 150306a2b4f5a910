"""``losscli plot``: loss curves and their derivatives, in the terminal or as an image.

The curves are checked as plain data (``compute_curves``) against closed forms and
against central finite differences of themselves; the command is driven through
``run`` as a user would, for its text, its errors and its ``-o`` images.
"""

from __future__ import annotations

import builtins
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import cli, succeeds

import losscli.cli.output
from losscli.app.plot import compute_curves, parse_range

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def assert_usage_error(code: int, out: str, err: str) -> str:
    """Exit 2, nothing on stdout, one ``error:`` line (and at most a hint); returns it."""
    assert code == 2, f"exit {code}\nstdout: {out}\nstderr: {err}"
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert [line for line in lines if line.startswith("error:")] == lines[:1], err
    assert all(line.startswith(("error:", "hint:")) for line in lines), err
    return lines[0]


# ---- the text a non-interactive run prints ---------------------------------------------------


def test_plot_prints_title_axis_labels_and_legend(capsys):
    code, out, err = cli(capsys, "plot", "--loss", "mse,mae,huber", "--range", "-3:3")
    assert code == 0, err
    assert err == ""
    assert "loss curves: mse, mae, huber" in out
    assert "error e = ŷ − y" in out
    assert out.splitlines()[-1].startswith("loss")  # the y label (plotext puts it bottom left)
    for name in ("mse", "mae", "huber"):
        assert f" {name}" in out
    # The tick labels of the range's ends.
    assert "-3.0" in out and "3.0" in out


def test_plot_without_a_terminal_is_plain_80_by_20_and_deterministic(capsys):
    first = cli(capsys, "plot", "--loss", "mse,mae,huber")
    second = cli(capsys, "plot", "--loss", "mse,mae,huber")
    assert first == second
    lines = first[1].splitlines()
    assert "\x1b" not in first[1]
    assert len(lines) == 20
    assert max(len(line) for line in lines) <= 80


def test_width_and_height_set_the_size(capsys):
    code, out, err = cli(capsys, "plot", "--loss", "mse", "--width", "60", "--height", "12")
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 12
    assert max(len(line) for line in lines) <= 60


def test_colour_only_on_a_terminal_and_never_with_no_color(capsys, monkeypatch):
    monkeypatch.setattr(losscli.cli.output, "stdout_is_terminal", lambda: True)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TERM", raising=False)
    code, out, _ = cli(capsys, "plot", "--loss", "mse,mae", "--width", "70", "--height", "15")
    assert code == 0
    assert "\x1b[" in out
    monkeypatch.setenv("NO_COLOR", "1")
    code, out, _ = cli(capsys, "plot", "--loss", "mse,mae", "--width", "70", "--height", "15")
    assert code == 0
    assert "\x1b" not in out
    assert "mse" in out and "mae" in out


def test_overlaid_classification_losses_have_a_curve_per_target(capsys):
    code, out, err = cli(capsys, "plot", "--loss", "bce,hinge", "--from-logits", "--height", "24")
    assert code == 0, err
    for name in ("bce (y=1)", "bce (y=0)", "hinge (y=1)", "hinge (y=0)"):
        assert name in out
    assert "z (logit or raw score)" in out


def test_probability_axis_and_shared_parameter_flags(capsys):
    code, out, err = cli(capsys, "plot", "--loss", "bce,focal", "--gamma", "2", "--height", "24")
    assert code == 0, err
    assert "p (predicted probability)" in out
    assert "focal (y=1)" in out and "focal (y=0)" in out
    assert "gamma=2" in out  # shared parameters show in the title


def test_gradient_adds_a_derivative_panel(capsys):
    code, out, err = cli(capsys, "plot", "--loss", "mse,huber", "--gradient")
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 36
    assert "derivative ∂L/∂e" in out
    assert lines[-1].startswith("∂L/∂e")
    assert sum("error e = ŷ − y" in line for line in lines) == 2  # both panels


def test_inline_params_and_param_flag(capsys):
    code, out, err = cli(
        capsys, "plot", "--loss", "huber(delta=0.5),quantile", "--param", "quantile=0.9"
    )
    assert code == 0, err
    assert "huber(delta=0.5)" in out and "quantile" in out


def test_plot_help_has_examples(capsys):
    code, out, _ = cli(capsys, "plot", "--help")
    assert code == 0
    assert "Example: losscli plot --loss mse,mae,huber --range -3:3 --gradient" in out
    for option in ("--range", "--gradient", "--from-logits", "--output", "--width", "--height"):
        assert option in out


# ---- the curves equal the closed forms -------------------------------------------------------


def test_huber_values_and_derivative():
    c = compute_curves("huber(delta=0.5)", x_range=(-2.0, 2.0), points=41)
    e, d = c.x, 0.5
    np.testing.assert_allclose(
        c.loss["huber(delta=0.5)"],
        np.where(np.abs(e) <= d, 0.5 * e**2, d * (np.abs(e) - 0.5 * d)),
        atol=1e-12,
    )
    np.testing.assert_allclose(
        c.grad["huber(delta=0.5)"], np.where(np.abs(e) <= d, e, d * np.sign(e)), atol=1e-12
    )
    # A few points by hand: quadratic inside δ, linear with slope ±δ outside.
    at = {round(float(v), 6): i for i, v in enumerate(e)}
    for x, value, slope in [
        (2.0, 0.875, 0.5),
        (0.3, 0.045, 0.3),
        (0.0, 0.0, 0.0),
        (-1.5, 0.625, -0.5),
    ]:
        assert c.loss["huber(delta=0.5)"][at[x]] == pytest.approx(value)
        assert c.grad["huber(delta=0.5)"][at[x]] == pytest.approx(slope)
    assert c.xlabel == "error e = ŷ − y"
    assert c.grad_label == "∂L/∂e"


def test_shared_delta_flag_gives_the_same_curve_as_inline():
    inline = compute_curves("huber(delta=0.5)")
    shared = compute_curves("huber", {"delta": 0.5})
    np.testing.assert_array_equal(inline.loss["huber(delta=0.5)"], shared.loss["huber"])


def test_regression_losses_over_the_error():
    c = compute_curves("mse,mae,log_cosh,rmse")
    e = c.x
    np.testing.assert_allclose(c.loss["mse"], e**2)
    np.testing.assert_allclose(c.grad["mse"], 2 * e)
    np.testing.assert_allclose(c.loss["mae"], np.abs(e))
    np.testing.assert_allclose(c.grad["mae"], np.sign(e))
    np.testing.assert_allclose(c.loss["log_cosh"], np.log(np.cosh(e)), atol=1e-12)
    np.testing.assert_allclose(c.grad["log_cosh"], np.tanh(e))
    # rmse has no per-row value: J of a batch whose rows all have error e.
    np.testing.assert_allclose(c.loss["rmse"], np.abs(e), atol=1e-12)
    np.testing.assert_allclose(c.grad["rmse"], np.sign(e), atol=1e-12)


def test_positive_regression_losses_are_drawn_over_the_prediction():
    c = compute_curves("mse,msle")
    assert c.axis.kind == "prediction"
    assert c.x[0] > 0
    yhat = c.x
    np.testing.assert_allclose(c.loss["mse"], (yhat - 1.0) ** 2, atol=1e-12)
    np.testing.assert_allclose(c.loss["msle"], (np.log1p(yhat) - np.log(2.0)) ** 2, atol=1e-12)
    np.testing.assert_allclose(
        c.grad["msle"], 2 * (np.log1p(yhat) - np.log(2.0)) / (1 + yhat), atol=1e-12
    )


def test_bce_over_p_is_minus_log_p_and_minus_log_one_minus_p():
    c = compute_curves("bce")
    p = c.x
    assert (p[0], p[-1]) == pytest.approx((0.001, 0.999))
    np.testing.assert_allclose(c.loss["bce (y=1)"], -np.log(p))
    np.testing.assert_allclose(c.loss["bce (y=0)"], -np.log1p(-p))
    np.testing.assert_allclose(c.grad["bce (y=1)"], -1.0 / p)
    np.testing.assert_allclose(c.grad["bce (y=0)"], 1.0 / (1.0 - p))


def test_bce_over_the_logit_is_softplus():
    c = compute_curves("bce", from_logits=True)
    z = c.x
    assert (z[0], z[-1]) == (-6.0, 6.0)
    np.testing.assert_allclose(c.loss["bce (y=1)"], np.logaddexp(0, -z))
    np.testing.assert_allclose(c.loss["bce (y=0)"], np.logaddexp(0, z))
    sig = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(c.grad["bce (y=1)"], sig - 1)
    np.testing.assert_allclose(c.grad["bce (y=0)"], sig)


def test_hinge_over_the_score():
    c = compute_curves("hinge,squared_hinge", x_range=(-3.0, 3.0), points=61)
    s = c.x
    np.testing.assert_allclose(c.loss["hinge (y=1)"], np.maximum(0, 1 - s), atol=1e-12)
    np.testing.assert_allclose(c.loss["hinge (y=0)"], np.maximum(0, 1 + s), atol=1e-12)
    np.testing.assert_allclose(c.grad["hinge (y=1)"], np.where(1 - s > 1e-12, -1.0, 0.0))
    np.testing.assert_allclose(c.grad["hinge (y=0)"], np.where(1 + s > 1e-12, 1.0, 0.0))
    np.testing.assert_allclose(c.loss["squared_hinge (y=1)"], np.maximum(0, 1 - s) ** 2, atol=1e-12)
    np.testing.assert_allclose(c.grad["squared_hinge (y=1)"], -2 * np.maximum(0, 1 - s), atol=1e-12)


def test_multiclass_losses_on_a_two_class_slice():
    c = compute_curves("cross_entropy,nll,perplexity", x_range=(0.05, 0.95), points=19)
    p = c.x
    np.testing.assert_allclose(c.loss["cross_entropy (K=2)"], -np.log(p))
    np.testing.assert_allclose(c.grad["cross_entropy (K=2)"], -1 / p)
    np.testing.assert_allclose(c.loss["nll (K=2)"], -np.log(p))
    np.testing.assert_allclose(c.grad["nll (K=2)"], -1 / p)
    np.testing.assert_allclose(c.loss["perplexity (K=2)"], 1 / p)
    np.testing.assert_allclose(c.grad["perplexity (K=2)"], -1 / p**2)
    logits = compute_curves("cross_entropy,multi_hinge", from_logits=True)
    z = logits.x  # the true class's score minus the other's
    np.testing.assert_allclose(logits.loss["cross_entropy (K=2)"], np.logaddexp(0, -z))
    np.testing.assert_allclose(logits.loss["multi_hinge (K=2)"], np.maximum(0, 1 - z), atol=1e-12)


def test_similarity_losses():
    c = compute_curves("contrastive", {"margin": 1.5})
    d = c.x
    assert (d[0], d[-1]) == (0.0, 3.0)
    np.testing.assert_allclose(c.loss["contrastive (y=1)"], 0.5 * d**2)
    np.testing.assert_allclose(c.grad["contrastive (y=1)"], d)
    np.testing.assert_allclose(c.loss["contrastive (y=0)"], 0.5 * np.maximum(0, 1.5 - d) ** 2)
    np.testing.assert_allclose(c.grad["contrastive (y=0)"], -np.maximum(0, 1.5 - d))
    t = compute_curves("triplet", x_range=(-3.0, 3.0), points=61)
    np.testing.assert_allclose(t.loss["triplet"], np.maximum(0, t.x + 1), atol=1e-12)
    cos = compute_curves("cosine_embedding")
    theta = cos.x
    np.testing.assert_allclose(cos.loss["cosine_embedding (t=1)"], 1 - np.cos(theta), atol=1e-9)
    np.testing.assert_allclose(cos.grad["cosine_embedding (t=1)"], np.sin(theta), atol=1e-9)


# ---- --gradient equals the finite differences of the loss curves ----------------------------

# (spec, params, from_logits, range, points where L is not twice differentiable)
FD_CASES = [
    (
        "mse,mae,huber(delta=0.5),smooth_l1,log_cosh,quantile(quantile=0.8),rmse",
        {},
        False,
        (-3, 3),
        [0, -0.5, 0.5, -1, 1],
    ),
    ("msle,mape,poisson,tweedie,tweedie(power=3),mse", {}, False, (0.2, 4), [1]),
    ("poisson", {}, True, (-3, 3), []),
    ("poisson_deviance,gamma_deviance,poisson(full=true)", {}, False, (0.2, 4), []),
    ("poly1_cross_entropy,generalized_cross_entropy", {}, True, (-4, 4), []),
    ("poly1(epsilon=-0.5),gce(q=0.3)", {}, False, (0.05, 0.95), []),
    ("gaussian_nll", {}, False, (-3, 3), []),
    (
        "bce,focal(gamma=2),brier,weighted_bce(class_weights=[1,3])",
        {"label_smoothing": 0.1},
        False,
        (0.05, 0.95),
        [],
    ),
    ("bce,focal(gamma=2,alpha=0.25),brier,hinge,squared_hinge", {}, True, (-4, 4), [-1, 1]),
    ("cross_entropy(label_smoothing=0.2),nll,perplexity", {}, False, (0.05, 0.95), []),
    (
        "cross_entropy(label_smoothing=0.2),perplexity,multi_hinge,multi_margin",
        {},
        True,
        (-4, 4),
        [1],
    ),
    ("contrastive", {}, False, (0, 3), [1]),
    ("triplet", {}, False, (-3, 3), [-1]),
    ("margin_ranking(margin=0.5)", {}, False, (-3, 3), [-0.5, 0.5]),
    ("cosine_embedding(margin=0.2)", {}, False, (0, math.pi), [math.acos(0.2)]),
    ("0.7*mse + 0.3*log_cosh", {}, False, (-3, 3), []),
]


@pytest.mark.parametrize(
    ("spec", "params", "logits", "bounds", "kinks"), FD_CASES, ids=[c[0] for c in FD_CASES]
)
def test_gradient_curves_are_finite_differences_of_the_loss_curves(
    spec, params, logits, bounds, kinks
):
    c = compute_curves(spec, params, from_logits=logits, x_range=bounds, points=2001)
    h = c.x[1] - c.x[0]
    inner = c.x[1:-1]
    smooth = np.all([np.abs(inner - k) > 2 * h for k in kinks], axis=0) if kinks else slice(None)
    assert list(c.loss) == list(c.grad)
    for name in c.loss:
        fd = (c.loss[name][2:] - c.loss[name][:-2]) / (2 * h)
        # Central differences are off by h²·L'''/6: a tolerance far below any real mistake.
        scale = max(1.0, float(np.max(np.abs(c.grad[name]))))
        np.testing.assert_allclose(
            c.grad[name][1:-1][smooth], fd[smooth], rtol=1e-3, atol=1e-5 * scale, err_msg=name
        )


# ---- errors: one line, exit 2 ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--loss", "mse", "--range", "3:1"], "A must be less than B"),
        (["--loss", "mse", "--range", "1:1"], "A must be less than B"),
        (["--loss", "mse", "--range", "a:b"], "expected A:B"),
        (["--loss", "mse", "--range", "3"], "expected A:B"),
        (["--loss", "mse", "--range", "0:inf"], "expected A:B"),
        (["--loss", "bce", "--range", "0:1"], "inside (0, 1)"),
        (["--loss", "bce", "--range", "0.5:1.5"], "inside (0, 1)"),
        (["--loss", "contrastive", "--range", "-1:2"], ">= 0"),
        (["--loss", "msle", "--range", "-1:2"], "msle is not defined on all of --range -1:2"),
    ],
)
def test_bad_range_is_a_usage_error(capsys, args, fragment):
    line = assert_usage_error(*cli(capsys, "plot", *args))
    assert fragment in line


@pytest.mark.parametrize(
    "loss", ["dice", "iou", "kl_div", "mse+dice", "lovasz_hinge", "generalized_dice", "js_div"]
)
def test_a_loss_without_a_curve_is_a_usage_error_listing_what_plot_draws(capsys, loss):
    code, out, err = cli(capsys, "plot", "--loss", loss)
    line = assert_usage_error(code, out, err)
    assert "plot cannot draw" in line
    hint = err.splitlines()[1]
    assert hint.startswith("hint: plot draws ") and "huber" in hint and "contrastive" in hint


def test_losses_on_different_axes_are_a_usage_error(capsys):
    line = assert_usage_error(*cli(capsys, "plot", "--loss", "mse,bce"))
    assert "different x axes" in line
    code, out, err = cli(capsys, "plot", "--loss", "bce,hinge")
    assert_usage_error(code, out, err)
    assert "--from-logits" in err.splitlines()[1]


def test_other_usage_errors(capsys):
    assert_usage_error(*cli(capsys, "plot"))  # --loss is required
    assert "unknown loss" in assert_usage_error(*cli(capsys, "plot", "--loss", "hubr"))
    assert "delta" in assert_usage_error(*cli(capsys, "plot", "--loss", "mse", "--delta", "1"))
    assert_usage_error(*cli(capsys, "plot", "--loss", "mse", "--width", "5"))


def test_parse_range_accepts_negative_and_exponent_numbers():
    assert parse_range("-3:3") == (-3.0, 3.0)
    assert parse_range("1e-3:0.5") == (0.001, 0.5)


# ---- images ----------------------------------------------------------------------------------


def test_png_image(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    target = tmp_path / "curve.png"
    code, out, err = cli(capsys, "plot", "--loss", "mse,mae,huber", "--gradient", "-o", target)
    assert (code, out, err) == (0, "", "")
    assert target.read_bytes().startswith(PNG_SIGNATURE)
    assert [p.name for p in tmp_path.iterdir()] == ["curve.png"]  # no temporary file left


def test_svg_image(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    target = tmp_path / "curve.svg"
    code, _, err = cli(capsys, "plot", "--loss", "bce,focal", "-o", target)
    assert code == 0, err
    text = target.read_text(encoding="utf-8")
    assert "<svg" in text


def test_other_image_extension_is_a_usage_error(capsys, tmp_path):
    line = assert_usage_error(*cli(capsys, "plot", "--loss", "mse", "-o", tmp_path / "c.jpg"))
    assert ".png" in line and ".svg" in line
    assert list(tmp_path.iterdir()) == []


def test_without_matplotlib_the_error_names_the_plot_extra(capsys, tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    target = tmp_path / "curve.png"
    line = assert_usage_error(*cli(capsys, "plot", "--loss", "mse", "-o", target))
    assert "losscli[plot]" in line
    assert not target.exists()


def test_a_failed_plot_leaves_an_existing_image_alone(capsys, tmp_path):
    target = tmp_path / "curve.png"
    target.write_bytes(b"old")
    assert_usage_error(*cli(capsys, "plot", "--loss", "dice", "-o", target))
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["curve.png"]


# ---- start-up --------------------------------------------------------------------------------


def test_importing_the_cli_and_plot_help_load_no_numpy_or_plotext():
    script = (
        "import json, sys\n"
        "import losscli.cli.commands\n"
        "from losscli.cli.commands import run\n"
        "code = run(['plot', '--help'])\n"
        "heavy = [m for m in ('numpy', 'plotext', 'matplotlib', 'pandas', 'pyarrow') if m in sys.modules]\n"
        "print(json.dumps({'code': code, 'heavy': heavy}))\n"
    )
    proc = succeeds([sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[1])
    assert json.loads(proc.stdout.splitlines()[-1]) == {"code": 0, "heavy": []}


def test_every_loss_the_hint_lists_can_be_drawn():
    """The refusal's hint lists only what plot draws: no metric (accuracy, r2,
    cosine_similarity), every listed loss sliced without a refusal."""
    from losscli.app import plot
    from losscli.binding.objective import objectives_for

    listed = plot.plottable_losses()
    assert not {"accuracy", "r2", "cosine_similarity", "ece"} & set(listed)
    assert {"mse", "huber", "bce", "cross_entropy", "hinge", "triplet"} <= set(listed)
    from losscli.errors import ParamError

    for name in listed:
        try:
            (label, obj), *_ = objectives_for(name, {}, None, None)
        except ParamError:  # a parameter it must be given (weighted_bce's class_weights)
            continue
        plot._slice_for(label, obj, positive=False)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--gradient", "--height", "14"],
            "error: --height 14: --gradient draws two panels of 12 lines or more, so give --height 24 or more",
        ),
        (["--height", "8"], "8"),
    ],
)
def test_too_few_lines_for_the_panels_are_refused(capsys, args, message):
    code, _, err = cli(capsys, "plot", "--loss", "mse", *args)
    assert code == 2 and message in err.splitlines()[0]


def test_the_smallest_heights_allowed_still_draw_every_panel(capsys):
    capsys.readouterr()  # what tests before printed
    for args, panels in ((["--height", "12"], 1), (["--gradient", "--height", "24"], 2)):
        code, out, _ = cli(capsys, "plot", "--loss", "mse", "--width", "60", *args)
        assert code == 0
        frames = [line for line in out.splitlines() if line.strip().startswith("┌")]
        assert len(frames) == panels, out
        rows = [line for line in out.splitlines() if "┤" in line]
        assert len(rows) >= 5 * panels  # each panel keeps rows of its curve


def test_a_plot_after_a_two_panel_plot_is_drawn_alone():
    """plotext's clear_figure clears only the active subplot: a plot drawn after a
    --gradient plot in the same process drew into its panels."""
    from losscli.app.plot import compute_curves, render_terminal

    alone = render_terminal(compute_curves("mse"), width=60, height=12)
    render_terminal(compute_curves("mse,huber"), gradient=True, width=60, height=30)
    after = render_terminal(compute_curves("mse"), width=60, height=12)
    assert after == alone
    assert "huber" not in after
