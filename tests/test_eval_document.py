"""The eval document of ``evaluate_file`` is a dict (indexing and ``json.dumps`` as before)
whose ``to_pandas()`` is the table ``eval --format csv`` writes and whose
``_repr_html_`` shows that table in a notebook; pandas loads only for them."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from helpers import SAMPLES, assert_same_table, cli, csv_table

import losscli


def test_the_eval_document_is_a_dict_with_its_csv_table(capsys):
    path = SAMPLES / "regression.csv"
    doc = losscli.evaluate_file(path, "mse,huber", group="segment", weight="weight", bootstrap=50)
    assert isinstance(doc, dict) and json.loads(json.dumps(doc))["results"] == doc["results"]
    code, out, err = cli(
        capsys, "eval", path, "-l", "mse,huber", "--group", "segment", "--weight", "weight",
        "--bootstrap", "50", "--format", "csv", "-q",
    )  # fmt: skip
    assert code == 0, err
    table = doc.to_pandas()
    assert_same_table(table, csv_table(out))
    assert table["value"].dtype == np.float64 and table["n"].dtype == np.int64
    html = doc._repr_html_()
    assert html.count("<tr") == len(table) + 1 and "huber" in html and "ci_high" in html
    assert html == table._repr_html_()


def test_evaluate_file_imports_no_pandas_until_to_pandas():
    script = f"""
import sys, losscli
doc = losscli.evaluate_file({str(SAMPLES / "regression.csv")!r}, "mse", group="segment")
assert "pandas" not in sys.modules
assert len(doc.to_pandas()) == 5 and "pandas" in sys.modules
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_every_output_shows_the_params_that_were_set_and_drops_the_unset(capsys):
    from losscli.app.result_table import params_json, set_params

    assert set_params({"delta": 0.5, "eps": None}) == {"delta": 0.5}
    assert params_json({"delta": 0.5, "eps": None, "q": 0.9}) == '{"delta":0.5,"q":0.9}'
    assert params_json({"eps": None}) == "{}"
    data = SAMPLES / "regression.csv"
    _, csv_out, _ = cli(capsys, "eval", data, "-l", "huber(delta=0.5)", "--format", "csv")
    assert '"{""delta"":0.5}"' in csv_out.splitlines()[1]
    _, json_out, _ = cli(capsys, "eval", data, "-l", "huber(delta=0.5)", "--format", "json")
    assert json.loads(json_out)["results"][0]["params"] == {"delta": 0.5}
    _, compared, _ = cli(capsys, "compare", data, data, "-l", "huber(delta=0.5)", "--format", "csv")
    assert '"{""delta"":0.5}"' in compared.splitlines()[1]
