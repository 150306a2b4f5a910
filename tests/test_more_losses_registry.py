"""Issue 9's losses, parameters and reductions are everywhere a user looks for them:
``losscli losses``, ``explain`` (formula, gradient and the references it follows), shell
completion, the man pages, and the ``--reduction`` choices of eval, grad and compare."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_completion import bash_complete
from typer.testing import CliRunner

from losscli.cli.commands import app

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()

NEW_LOSSES = {
    # name: (task listed under, a reference the explain text names)
    "poisson_deviance": ("counts", "mean_poisson_deviance"),
    "gamma_deviance": ("regression", "mean_gamma_deviance"),
    "js_div": ("distribution", "jensenshannon"),
    "poly1_cross_entropy": ("multiclass", "Leng et al. (2022)"),
    "generalized_cross_entropy": ("multiclass", "Zhang & Sabuncu (2018)"),
    "focal_tversky": ("segmentation", "Abraham & Khan (2019)"),
    "generalized_dice": ("segmentation", "Sudre et al. (2017)"),
    "lovasz_hinge": ("segmentation", "Berman et al. (2018)"),
    "lovasz_softmax": ("segmentation", "Berman et al. (2018)"),
}
NEW_PARAMS = {
    "poisson": "full",
    "gaussian_nll": "full",
    "kl_div": "log_target",
    "triplet": "p",
}


def test_losses_lists_every_new_loss_under_its_task():
    result = runner.invoke(app, ["losses", "--format", "json"])
    assert result.exit_code == 0
    records = {r["name"]: r for r in json.loads(result.stdout)}
    for name, (task, _) in NEW_LOSSES.items():
        assert task in records[name]["tasks"], name
        listed = runner.invoke(app, ["losses", "--task", task])
        assert name in listed.stdout.split()
    params = {name: [p["name"] for p in records[name]["params"]] for name in NEW_PARAMS}
    for name, param in NEW_PARAMS.items():
        assert params[name][-1 if name != "triplet" else -2] == param  # appended at the end
    assert params["triplet"][-1] == "swap"


@pytest.mark.parametrize("name", sorted(NEW_LOSSES))
def test_explain_gives_formula_gradient_and_reference(name):
    result = runner.invoke(app, ["explain", name, "--format", "json"])
    assert result.exit_code == 0
    record = json.loads(result.stdout)
    assert record["formula"] and record["gradient"] and record["use_when"]
    assert NEW_LOSSES[name][1] in record["differences"]


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("poisson", "full=true adds the Stirling approximation"),
        ("gaussian_nll", "full=true adds ½·log 2π"),
        ("kl_div", "log_target=true"),
        ("triplet", "swap=true"),
        ("focal_tversky", "(1 − TI)^(1/γ) with γ = 4/3, i.e. γ = 0.75 here"),
    ],
)
def test_explain_describes_the_new_parameters_and_conventions(name, fragment):
    result = runner.invoke(app, ["explain", name, "--format", "json"])
    assert result.exit_code == 0
    record = json.loads(result.stdout)
    assert fragment in " ".join(str(v) for v in record.values())


def test_completion_offers_the_new_losses_and_parameters():
    offered = bash_complete("losscli eval x.csv --loss dice,lov")
    assert offered == ["dice,lovasz_hinge", "dice,lovasz_softmax"]
    assert bash_complete("losscli eval x.csv --loss poisson(f") == ["poisson(full="]
    assert bash_complete("losscli eval x.csv --loss kl_div(log") == [
        "kl_div(log_input=",
        "kl_div(log_target=",
    ]
    assert "triplet(swap=" in bash_complete("losscli eval x.csv --loss triplet(s")


@pytest.mark.parametrize(
    ("command", "choices"),
    [
        ("eval", ["mean", "sum", "none", "median", "max", "p95", "mean_with_sample_weight"]),
        ("grad", ["mean", "sum", "median", "max", "p95", "mean_with_sample_weight"]),
        ("compare", ["mean", "sum", "median", "max", "p95", "mean_with_sample_weight"]),
    ],
)
def test_reduction_choices_complete_and_are_in_the_man_pages(command, choices):
    line = f"losscli {command} x.csv --reduction "
    assert bash_complete(line) == choices
    page = (ROOT / "man" / f"losscli-{command}.1").read_text(encoding="utf-8")
    assert f"\\fB\\-\\-reduction\\fR \\fI{'|'.join(choices)}\\fR" in page


def test_root_man_page_lists_the_new_losses():
    page = (ROOT / "man" / "losscli.1").read_text(encoding="utf-8")
    for name in NEW_LOSSES:
        assert f"\\fB{name}\\fR" in page
