"""Kernel options are declared on their loss: a convention or alias that sets an
option its loss does not declare is an error where the objective is bound."""

from __future__ import annotations

import pytest

from losscli.binding.conventions import RECORDS, Convention
from losscli.binding.objective import FORM_OF_ALIAS, bind_term
from losscli.losses.registry import all_losses, get_loss


def test_every_convention_option_is_declared_by_its_loss():
    for record in RECORDS:
        declared = {p.name for p in get_loss(record.loss).options}
        missing = set(record.options) - declared
        assert not missing, f"{record.loss}/{record.library}: {sorted(missing)} not declared"


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: f"{r.loss}-{r.library}")
def test_every_convention_binds_with_its_options(record):
    required = {p.name: (1.0, 2.0) for p in get_loss(record.loss).params if p.required}
    bound = bind_term(record.loss, required, {}, None, record.library)
    for key, value in record.options.items():
        assert bound.params[key] == value


def test_alias_forms_are_declared_options():
    for alias in FORM_OF_ALIAS:
        assert get_loss(alias).option("focal_layout") is not None


def test_options_are_not_user_parameters():
    for loss in all_losses():
        assert not {p.name for p in loss.params} & {p.name for p in loss.options}, loss.name


def test_a_name_both_parameter_and_option_is_refused():
    from losscli.losses.params import EPS
    from losscli.losses.registry import Loss, add_loss

    mse = get_loss("mse")
    with pytest.raises(ValueError, match="both a parameter and a kernel option"):
        add_loss(Loss("x_both", mse.kernel, "real", ("regression",), params=(EPS,), options=(EPS,)))


def test_binding_an_undeclared_option_raises(monkeypatch):
    import losscli.binding.conventions as conventions

    typo = Convention("mape", "sklearn", "f", options={"mape_scal": 1.0})
    monkeypatch.setattr(conventions, "lookup", lambda loss, library: typo)
    with pytest.raises(ValueError, match="mape_scal"):
        bind_term("mape", {}, {}, None, "sklearn")


def test_binding_an_option_with_an_invalid_value_raises(monkeypatch):
    import losscli.binding.conventions as conventions

    wrong = Convention("mse", "keras", "f", options={"denominator": "rows"})
    monkeypatch.setattr(conventions, "lookup", lambda loss, library: wrong)
    with pytest.raises(Exception, match="denominator"):
        bind_term("mse", {}, {}, None, "keras")
