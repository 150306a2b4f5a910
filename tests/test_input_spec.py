"""The input options travel as one InputSpec: declared once for the command line,
built from a check's keys, or from the Python API's keywords, with the same meaning.

Before, ``--delimiter``, ``--decimal`` and ``--pos-label`` were process-wide settings:
the Python API could not give them, and a value set by one call was seen by the next.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from helpers import cli, values
from typer.main import get_command

import losscli
from losscli.cli.commands import app
from losscli.cli.options import INPUT_OPTIONS
from losscli.io.input_options import InputSpec

SEMICOLONS = "y;yhat\n1,5;1,25\n2,0;2,5\n3,5;3,0\n"
Y, P = np.array([1.5, 2.0, 3.5]), np.array([1.25, 2.5, 3.0])
ANIMALS = "y_true,y_pred\ncat,0.2\ndog,0.9\ndog,0.6\ncat,0.4\n"


@pytest.fixture
def semicolons(tmp_path):
    path = tmp_path / "eu.csv"
    path.write_text(SEMICOLONS)
    return path


@pytest.fixture
def animals(tmp_path):
    path = tmp_path / "animals.csv"
    path.write_text(ANIMALS)
    return path


def test_every_input_option_has_one_flag_and_one_field():
    fields = {f.name for f in dataclasses.fields(InputSpec)}
    assert fields - {"defaulted"} == set(INPUT_OPTIONS)  # which of them losscli.toml gave


@pytest.mark.parametrize(
    ("command", "left_out"),
    [("eval", set()), ("grad", {"group"}), ("compare", {"targets", "keep"})],
)
def test_each_command_declares_the_bundle_once(command, left_out):
    params = get_command(app).commands[command].params
    names = [p.name for p in params]
    assert len(names) == len(set(names))
    assert set(INPUT_OPTIONS) - left_out <= set(names)
    assert not left_out & set(names)


def test_the_python_api_reads_a_csv_dialect_as_the_command_line(semicolons, capsys):
    expected = float(np.mean((P - Y) ** 2))
    doc = losscli.evaluate_file(semicolons, "mse", delimiter=";", decimal=",")
    assert doc["results"][0]["value"] == pytest.approx(expected, rel=1e-12)
    (cli_value,) = values(capsys, semicolons, "-l", "mse", "--decimal", ",")
    assert cli_value == pytest.approx(expected, rel=1e-12)


def test_a_dialect_given_once_is_not_seen_by_the_next_call(semicolons, tmp_path, capsys):
    losscli.evaluate_file(semicolons, "mse", delimiter=";", decimal=",")
    plain = tmp_path / "plain.csv"
    plain.write_text("y,yhat\n1,2\n3,3\n")
    assert losscli.evaluate_file(plain, "mse")["results"][0]["value"] == 0.5
    code, _, err = cli(capsys, "eval", semicolons, "-l", "mse", "--decimal", ",", "-f", "json")
    assert code == 0, err
    assert values(capsys, plain, "-l", "mse") == [0.5]


def test_pos_label_in_the_python_api_and_in_compare(animals, capsys):
    y = np.array([0, 1, 1, 0.0])
    p = np.array([0.2, 0.9, 0.6, 0.4])
    expected = float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))
    doc = losscli.evaluate_file(animals, "bce", pos_label="dog")
    assert doc["results"][0]["value"] == pytest.approx(expected, rel=1e-12)
    with pytest.raises(losscli.InputError, match="needs to know which one is the positive class"):
        losscli.evaluate_file(animals, "bce")  # not remembered from the call before
    code, out, err = cli(
        capsys, "compare", animals, animals, "-l", "bce", "--pos-label", "dog", "-f", "json"
    )
    assert code == 0, err
    assert json.loads(out)["results"][0]["baseline"] == pytest.approx(expected, rel=1e-12)
