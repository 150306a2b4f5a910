"""``--convention torch|keras|sklearn|optax`` reproduces each library's value and gradient.

The fixture table (tests/convention_fixtures.py) holds numbers computed outside losscli
from each library's published formula; here the command line must reproduce them to
1e-9 relative, for every (loss, library) pair that ``losscli.binding.conventions`` defines.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from convention_fixtures import FIXTURES, Fixture

import losscli
from losscli.binding import conventions
from losscli.cli.commands import run
from losscli.losses.registry import get_loss

RTOL = 1e-9


def write_csv(path, columns: dict[str, list[float]]) -> str:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        writer.writerows(zip(*([repr(float(v)) for v in col] for col in columns.values())))
    return str(path)


def convention_flags(fx: Fixture) -> list[str]:
    return ["--convention", fx.library] if fx.library else []


def eval_json(capsys, *args) -> dict:
    code = run([*map(str, args), "--format", "json", "-q"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


@pytest.mark.parametrize("fx", FIXTURES, ids=lambda fx: fx.id)
def test_convention_value_matches_the_library_formula(fx: Fixture, tmp_path, capsys):
    path = write_csv(tmp_path / "data.csv", fx.columns)
    doc = eval_json(capsys, "eval", path, "--loss", fx.loss, *convention_flags(fx), *fx.flags)
    assert doc["convention"] == fx.library
    assert doc["results"][0]["value"] == pytest.approx(fx.value, rel=RTOL, abs=0)


@pytest.mark.parametrize("fx", FIXTURES, ids=lambda fx: fx.id)
def test_convention_gradient_matches_the_library_formula(fx: Fixture, tmp_path, capsys):
    path = write_csv(tmp_path / "data.csv", fx.columns)
    out = tmp_path / "grad.csv"
    args = ["grad", path, "--loss", fx.loss, *convention_flags(fx), *fx.flags, "-q", "-o", out]
    assert run([str(a) for a in args]) == 0, capsys.readouterr().err
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [c for c in rows[0] if c != "row"] == list(fx.grads)
    for column, want in fx.grads.items():
        got = np.array([float(r[column]) for r in rows])
        scale = max(np.max(np.abs(want)), 1e-300)
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=RTOL * 1e-3 * scale, err_msg=column)


def test_every_library_definition_has_a_fixture():
    pairs = {(fx.loss, fx.library) for fx in FIXTURES}
    missing = [(r.loss, r.library) for r in conventions.RECORDS if (r.loss, r.library) not in pairs]
    assert not missing, f"(loss, library) pairs without a fixture: {missing}"


# The traps the README names ("Why does my number differ from PyTorch's?"), each pinned
# by a fixture above.
REQUIRED = {
    "class-weighted cross-entropy: PyTorch Σ w_y": "cross_entropy-torch-class-weights",
    "class-weighted cross-entropy: Keras n": "cross_entropy-keras-class-weights",
    "class-weighted cross-entropy: scikit-learn Σ w": "cross_entropy-sklearn-class-weights",
    "BCE clipping at p = 0 and 1: PyTorch −100": "bce-torch-p0-p1",
    "BCE clipping at p = 0 and 1: Keras 1e-7 in float32": "bce-keras-p0-p1",
    "BCE clipping at p = 0 and 1: scikit-learn float64 eps": "bce-sklearn-p0-p1",
    "binary label smoothing toward ½ (Keras)": "bce-keras-label-smoothing",
    "Dice smoothing: Keras 1e-7 in the denominator only": "dice-keras-binary",
    "Dice smoothing: Keras empty mask scores 1": "dice-keras-empty-mask",
    "Dice smoothing: optax smooth = 1 (2s)": "dice-optax-logits",
    "focal α: torchvision 0.25 on by default": "focal-torch-alpha",
    "focal α: Keras categorical 0.25 always": "focal-keras-categorical-alpha",
    "focal α: optax none": "focal-optax-logits",
    "KL: PyTorch 'mean' ÷ n·K": "kl_div-torch-mean-log-input",
    "KL: 'batchmean', the true KL": "kl_div-default-batchmean",
    "Poisson: PyTorch log-rate input": "poisson-torch-log-input",
    "Poisson: PyTorch rates, eps 1e-8": "poisson-torch-rates",
}


def test_required_differences_are_pinned_by_fixtures():
    ids = {fx.id for fx in FIXTURES}
    assert not [topic for topic, fid in REQUIRED.items() if fid not in ids]


def by_id(fid: str) -> Fixture:
    return next(fx for fx in FIXTURES if fx.id == fid)


def test_the_pinned_traps_really_differ():
    """The fixtures show the traps: same data, different numbers per library."""
    assert by_id("bce-torch-p0-p1").value != by_id("bce-keras-p0-p1").value
    assert by_id("bce-keras-p0-p1").value != by_id("bce-sklearn-p0-p1").value
    assert by_id("cross_entropy-torch-class-weights").value != pytest.approx(
        by_id("cross_entropy-keras-class-weights").value
    )
    kl_mean = by_id("kl_div-torch-mean-probabilities").value
    assert kl_mean * 3 == pytest.approx(by_id("kl_div-default-batchmean").value, rel=1e-12)
    assert by_id("dice-keras-empty-mask").value == 1.0


# ----------------------------------------------------------------------------------------
# The rules around the table: errors, precedence, input space, records in the output


def test_a_loss_the_library_lacks_is_one_error_line_naming_who_has_it(tmp_path, capsys):
    path = write_csv(tmp_path / "d.csv", {"y_true": [1.0, 2.0], "y_pred": [1.5, 2.5]})
    assert run(["eval", path, "--loss", "rmse", "--convention", "torch"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == (
        "error: --convention torch: PyTorch has no rmse; keras (keras.metrics.RootMeanSquaredError)"
        " and sklearn (sklearn.metrics.root_mean_squared_error) define it"
    )
    assert err[1].startswith("hint: drop --convention")
    assert len(err) == 2


def test_a_loss_no_library_defines_says_so(capsys, tmp_path):
    path = write_csv(tmp_path / "d.csv", {"y_true": [1.0, 0.0], "y_pred": [0.5, 0.2]})
    assert run(["eval", path, "--loss", "iou", "--convention", "keras"]) == 2
    err = capsys.readouterr().err
    assert "Keras has no iou; none of torch, keras, sklearn, optax defines it" in err


def test_unknown_convention_lists_the_libraries(capsys, tmp_path):
    path = write_csv(tmp_path / "d.csv", {"y_true": [1.0, 2.0], "y_pred": [1.5, 2.5]})
    assert run(["eval", path, "--loss", "mse", "--convention", "tensorflow"]) == 2
    err = capsys.readouterr().err
    assert "error: unknown convention 'tensorflow'" in err
    assert "torch, keras, sklearn, optax" in err


@pytest.mark.parametrize("spelling", ["pytorch", "PyTorch", "torch"])
def test_convention_accepts_common_spellings(spelling):
    assert losscli.evaluate([1, 0], [0.0, 1.0], "bce", convention=spelling) == 100.0


def test_explicit_parameters_win_over_the_convention():
    y, z = np.array([1.0, 0.0, 1.0]), np.array([2.0, -0.5, -1.0])
    # torchvision's alpha = 0.25 default, overridden by an explicit alpha
    plain = losscli.evaluate(y, z, "focal", from_logits=True, alpha=0.5)
    assert losscli.evaluate(y, z, "focal", from_logits=True, alpha=0.5, convention="torch") == plain
    assert losscli.evaluate(y, z, "focal(alpha=0.5)", from_logits=True, convention="torch") == plain
    assert losscli.evaluate(y, z, "focal", from_logits=True, convention="torch") != plain
    # scikit-learn's tweedie power 0 by default, an explicit power wins
    t, p = np.array([1.0, 2.0]), np.array([1.5, 1.0])
    assert losscli.evaluate(t, p, "tweedie", power=1.5, convention="sklearn") == losscli.evaluate(
        t, p, "tweedie", power=1.5
    )


def test_explicit_from_logits_wins_over_the_conventions_input_space():
    y, rate = np.array([0.0, 3.0, 1.0]), np.array([0.6, 3.3, 1.1])
    as_rates = losscli.evaluate(y, rate, "poisson", from_logits=False, convention="torch")
    want = np.mean(rate - y * np.log(rate + 1e-8))  # PoissonNLLLoss(log_input=False)
    assert as_rates == pytest.approx(want, rel=1e-12)
    as_log_rates = losscli.evaluate(y, rate, "poisson", convention="torch")
    assert as_log_rates == pytest.approx(np.mean(np.exp(rate) - y * rate), rel=1e-12)


def test_a_convention_reading_the_columns_differently_says_so_on_stderr(tmp_path, capsys):
    path = write_csv(tmp_path / "d.csv", {"y_true": [0.0, 3.0], "y_pred": [0.1, 1.2]})
    assert run(["eval", path, "--loss", "poisson", "--convention", "torch"]) == 0
    err = capsys.readouterr().err
    assert "note: --convention torch: poisson as torch.nn.functional.poisson_nll_loss" in err
    assert "log-rates" in err and "--no-from-logits" in err
    assert run(["eval", path, "--loss", "poisson", "--convention", "torch", "-q"]) == 0
    assert capsys.readouterr().err == ""


def test_torchvision_focal_refuses_class_columns(tmp_path, capsys):
    path = write_csv(
        tmp_path / "d.csv", {"y_true": [0.0, 1.0], "p_0": [0.3, 0.6], "p_1": [0.7, 0.4]}
    )
    assert run(["eval", path, "--loss", "focal", "--convention", "torch"]) == 2
    err = capsys.readouterr().err
    assert "torchvision.ops.sigmoid_focal_loss, which is binary (sigmoid) only" in err
    assert "--convention keras" in err


def test_composite_terms_each_follow_the_convention():
    y, p = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    both = losscli.evaluate(y, p, "0.5*bce + 0.5*brier", convention="sklearn")
    assert both == pytest.approx(0.5 * 36.04365338911715 + 0.5 * 1.0, rel=1e-12)
    with pytest.raises(losscli.UsageError, match="optax has no brier"):
        losscli.evaluate(y, p, "bce + brier", convention="optax")


def test_reported_params_show_the_conventions_values(tmp_path, capsys):
    path = write_csv(tmp_path / "d.csv", {"y_true": [1.0, 0.0], "y_pred": [2.0, -1.0]})
    doc = eval_json(
        capsys, "eval", path, "--loss", "focal", "--from-logits", "--convention", "torch"
    )
    assert doc["results"][0]["params"]["alpha"] == 0.25
    torch_params = {p.name for p in get_loss("focal").params if p.convention in (None, "torch")}
    # null params are omitted, and so are those focal takes only under another convention
    assert set(doc["results"][0]["params"]) == torch_params - {"class_weights"}
    assert run(["eval", path, "--loss", "focal", "--from-logits", "--convention", "torch"]) == 0
    assert "alpha=0.25" in capsys.readouterr().out


def test_without_convention_the_document_records_null(tmp_path, capsys):
    path = write_csv(tmp_path / "d.csv", {"y_true": [1.0, 2.0], "y_pred": [1.5, 2.5]})
    assert eval_json(capsys, "eval", path, "--loss", "mse")["convention"] is None


def test_compare_follows_and_records_the_convention(tmp_path, capsys):
    base = write_csv(tmp_path / "b.csv", {"y_true": [1.0, 0.0, 1.0], "y_pred": [0.0, 0.2, 0.9]})
    cand = write_csv(tmp_path / "c.csv", {"y_true": [1.0, 0.0, 1.0], "y_pred": [0.1, 0.2, 0.9]})
    args = ["compare", base, cand, "--loss", "bce", "--bootstrap", "0", "--convention", "torch"]
    code = run([*args, "--format", "json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["convention"] == "torch"
    row = doc["results"][0]
    assert row["baseline"] == pytest.approx((100 - np.log(0.8) - np.log(0.9)) / 3, rel=1e-12)


def test_reduction_none_and_sum_follow_the_convention(tmp_path, capsys):
    path = write_csv(tmp_path / "d.csv", {"y_true": [1.0, 0.0], "y_pred": [0.0, 0.5]})
    out = tmp_path / "rows.csv"
    base = ["eval", path, "--loss", "bce", "--convention", "torch", "-q"]
    assert run([*base, "--reduction", "none", "-o", str(out)]) == 0
    rows = list(csv.DictReader(open(out)))
    assert [float(r["bce"]) for r in rows] == pytest.approx([100.0, np.log(2.0)], rel=1e-12)
    doc = eval_json(capsys, *base, "--reduction", "sum")
    assert doc["results"][0]["value"] == pytest.approx(100.0 + np.log(2.0), rel=1e-12)


def test_keras_kl_and_torch_kl_reduce_differently_only_in_the_mean():
    t = np.array([[0.5, 0.5, 0.0], [0.1, 0.6, 0.3]])
    p = np.array([[0.4, 0.4, 0.2], [0.2, 0.5, 0.3]])
    summed = losscli.evaluate(t, p, "kl_div", reduction="sum")
    assert losscli.evaluate(t, p, "kl_div", reduction="sum", convention="torch") == summed
    mean = losscli.evaluate(t, p, "kl_div", convention="torch")
    assert mean == pytest.approx(summed / (2 * 3), rel=1e-12)


def test_keras_divides_sample_weighted_means_by_n_even_with_zero_weights():
    y, p = np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 2.0, 3.0, 4.0])
    w = np.array([1.0, 0.0, 0.0, 0.0])
    assert losscli.evaluate(y, p, "mse", weights=w, convention="keras") == 0.25
    assert losscli.evaluate(y, p, "mse", weights=0 * w, convention="keras") == 0.0


def test_check_config_takes_a_convention(tmp_path, capsys, monkeypatch):
    write_csv(tmp_path / "d.csv", {"y_true": [1.0, 0.0], "y_pred": [0.0, 0.5]})
    (tmp_path / "losscli.toml").write_text(
        '[[check]]\nname = "torch bce"\nfile = "d.csv"\nloss = "bce"\nconvention = "torch"\n'
        "fail_above = 50\n"
    )
    monkeypatch.chdir(tmp_path)
    assert run(["check", "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    value = doc["checks"][0]["results"][0]["value"]
    assert value == pytest.approx((100.0 + np.log(2.0)) / 2, rel=1e-12)


def test_check_config_rejects_a_convention_that_lacks_the_loss(tmp_path, capsys, monkeypatch):
    write_csv(tmp_path / "d.csv", {"y_true": [1.0, 0.0], "y_pred": [0.0, 0.5]})
    (tmp_path / "losscli.toml").write_text(
        '[[check]]\nfile = "d.csv"\nloss = "brier"\nconvention = "torch"\n'
    )
    monkeypatch.chdir(tmp_path)
    assert run(["check"]) == 2
    assert "PyTorch has no brier" in capsys.readouterr().err


# ----------------------------------------------------------------------------------------
# The table itself


def test_every_record_names_a_registered_loss_and_its_declared_params():
    for record in conventions.RECORDS:
        loss = get_loss(record.loss)
        assert loss.name == record.loss
        assert record.library in conventions.LIBRARIES
        assert record.function and record.source, record
        for name in record.params:
            assert loss.param(name) is not None, (record.loss, record.library, name)
        if record.from_logits is not None:
            assert loss.logits and record.note, record


def test_every_difference_cites_a_source_in_the_libraries_code_or_docs():
    prefixes = ("pytorch/", "keras-team/", "google-deepmind/", "scikit-learn/", "https://")
    for record in conventions.RECORDS:
        for part in record.source.split("; "):
            assert part.startswith(prefixes), (record.loss, record.library, part)


def test_explain_prints_each_librarys_definition_with_its_source(capsys):
    assert run(["explain", "cross_entropy"]) == 0
    out = capsys.readouterr().out
    assert "\nHow each library defines it (--convention LIB)\n" in out
    assert "  torch: torch.nn.functional.cross_entropy" in out
    assert "divides by Σ w_y" in out
    assert "source: pytorch/pytorch: aten/src/ATen/native/LossNLL.cpp" in out
    assert "  sklearn: sklearn.metrics.log_loss" in out


def test_explain_names_the_libraries_without_the_loss(capsys):
    assert run(["explain", "iou"]) == 0
    out = capsys.readouterr().out
    for library in conventions.LIBRARIES:
        assert f"  {library}: not defined (--convention {library} is an error)" in out


def test_explain_json_and_markdown_carry_the_table(capsys):
    assert run(["explain", "dice", "--format", "json"]) == 0
    record = json.loads(capsys.readouterr().out)
    entries = {e["library"]: e for e in record["conventions"]}
    assert list(entries) == list(conventions.LIBRARIES)
    assert entries["torch"]["defined"] is False and entries["torch"]["function"] is None
    assert entries["keras"]["function"] == "keras.losses.Dice"
    assert entries["keras"]["params"] == {"smooth": 1e-07}
    assert entries["optax"]["source"].startswith("google-deepmind/optax")
    assert run(["explain", "dice", "--format", "markdown"]) == 0
    md = capsys.readouterr().out
    assert "| library | function | differs from losscli's default | source |" in md
    assert "| keras | `keras.losses.Dice` |" in md


@pytest.mark.parametrize("record", conventions.RECORDS, ids=lambda r: f"{r.loss}-{r.library}")
def test_explain_shows_every_record(record, capsys):
    assert run(["explain", record.loss, "--format", "json"]) == 0
    entries = json.loads(capsys.readouterr().out)["conventions"]
    entry = next(e for e in entries if e["library"] == record.library)
    assert entry["function"] == record.function
    assert entry["source"] == record.source


@pytest.mark.parametrize(
    ("loss", "library"), [("rmse", "sklearn"), ("mse", "keras"), ("cross_entropy", "torch")]
)
def test_each_groups_value_is_the_convention_on_its_rows(loss, library, tmp_path, capsys):
    r = np.random.default_rng(3)
    n = 40
    group = r.integers(0, 3, n)
    w = r.uniform(0.1, 2.0, n)
    if loss == "cross_entropy":
        y = r.integers(0, 3, n).astype(float)
        preds = r.normal(0, 2, (n, 3))
        cols = {"y_true": y, **{f"z_{j}": preds[:, j] for j in range(3)}}
        flags = ["--pred", "z_*", "--from-logits", "--class-weights", "1,3,0.5"]
        params = {"from_logits": True, "class_weights": (1.0, 3.0, 0.5)}
        target = y
    else:
        target = r.normal(0, 2, (n, 2))
        preds = target + r.normal(0, 1, (n, 2))
        cols = {
            "y_true": target[:, 0],
            "y2": target[:, 1],
            "y_pred": preds[:, 0],
            "p2": preds[:, 1],
        }
        flags = ["--target", "y_true,y2", "--pred", "y_pred,p2"]
        params = {}
    path = write_csv(tmp_path / "d.csv", {**cols, "w": w, "g": group.astype(float)})
    doc = eval_json(
        capsys, "eval", path, "--loss", loss, "--convention", library, *flags,
        "--weight", "w", "--group", "g",
    )  # fmt: skip
    for result in doc["results"][1:]:
        rows = group == int(float(result["group"]))
        want = losscli.evaluate(
            target[rows], preds[rows], loss, weights=w[rows], convention=library, **params
        )
        assert result["value"] == pytest.approx(want, rel=1e-12)


def test_an_inferred_tasks_defaults_keep_the_losses_the_library_defines(capsys):
    from pathlib import Path

    sample = Path(__file__).resolve().parents[1] / "sample_data" / "imbalanced.csv"
    assert run(["eval", str(sample), "--convention", "torch"]) == 0
    out, err = capsys.readouterr()
    assert "--convention torch: PyTorch defines no brier: left out" in err
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["bce", "focal"]


def test_an_inferred_task_the_library_defines_no_loss_of_is_said_so(capsys):
    """±1 targets infer hinge and squared_hinge, which PyTorch does not define: the error
    says the losses were inferred (the user named none) and how to go on."""
    from pathlib import Path

    sample = Path(__file__).resolve().parents[1] / "sample_data" / "hinge.csv"
    assert run(["eval", str(sample), "--convention", "torch"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "error: --convention torch: PyTorch defines none of the losses inferred for this "
        "binary task (hinge, squared_hinge)",
        "hint: choose losses with --loss, or drop --convention for losscli's own; "
        "'losscli explain hinge' compares the libraries",
    ]
    assert run(["eval", str(sample), "--convention", "keras", "-q"]) == 0
    out, _ = capsys.readouterr()
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["hinge", "squared_hinge"]


def test_convention_names_complete():
    from losscli.cli.completion import convention_completions

    assert convention_completions("") == [
        ("torch", "PyTorch"),
        ("keras", "Keras"),
        ("sklearn", "scikit-learn"),
        ("optax", "optax"),
    ]
    assert convention_completions("s") == [("sklearn", "scikit-learn")]
