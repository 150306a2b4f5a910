"""The result table of an eval document: the rows and columns of ``eval --format csv``.

``result_table`` is the one rule for which columns the table has and what each row
holds (``loss, params, reduction, group[, class], n, value[, ci_low, ci_high][,
grad_mean, grad_abs_max, grad_l2_norm]``, params as compact JSON without the unset
ones, an empty cell as None). The CSV renderer writes it (floats at full precision);
``EvalDocument.to_pandas`` makes it a pandas DataFrame, which a notebook shows
through ``_repr_html_``. pandas is imported only by those two.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

#: the columns that hold numbers (None where a row has none)
FLOAT_COLUMNS = ("value", "ci_low", "ci_high", "grad_mean", "grad_abs_max", "grad_l2_norm")
GRADIENT_COLUMNS = {"grad_mean": "mean", "grad_abs_max": "abs_max", "grad_l2_norm": "l2_norm"}


def set_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """A result's params without the ones left unset (None), as every output shows them."""
    return {k: v for k, v in params.items() if v is not None}


def params_json(params: Mapping[str, Any]) -> str:
    """The set params as compact JSON: the ``params`` cell of the CSV tables."""
    return json.dumps(set_params(params), separators=(",", ":"))


def result_table(doc: Mapping[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """(column names, rows) of the eval document's results: one row per result (loss,
    group, class), cells as str, int, float or None (empty)."""
    has_grad = any("gradient" in r for r in doc["results"])
    per_class, resampled = "per_class" in doc, "bootstrap" in doc
    header = ["loss", "params", "reduction", "group", "n", "value"]
    if per_class:
        header.insert(4, "class")
    if resampled:
        header += ["ci_low", "ci_high"]
    if has_grad:
        header += list(GRADIENT_COLUMNS)
    rows = []
    for r in doc["results"]:
        row = [
            r["loss"],
            params_json(r["params"]),
            r["reduction"],
            r["group"],
            r["n"],
            r["value"],
        ]
        if per_class:
            row.insert(4, r.get("class"))
        if resampled:
            row += [r.get("ci_low"), r.get("ci_high")]
        if has_grad:
            g = r.get("gradient")  # a class row: gradients summarise the whole loss
            row += [g[k] if g else None for k in GRADIENT_COLUMNS.values()]
        rows.append(row)
    return header, rows


def result_frame(doc: Mapping[str, Any]) -> Any:
    """The result table as a pandas DataFrame: numbers as float64 (NaN for an empty
    cell), ``n`` as int64, the rest as text (None for the overall group and class)."""
    import pandas as pd

    header, rows = result_table(doc)
    frame = pd.DataFrame(rows, columns=header)
    for column in header:
        if column in FLOAT_COLUMNS:
            frame[column] = frame[column].astype("float64")
        elif column == "n":
            frame[column] = frame[column].astype("int64")
    return frame


class EvalDocument(dict):
    """The ``losscli.eval/1`` document (a dict: ``json.dumps`` and indexing work as on
    any), with its result table as a pandas DataFrame (``to_pandas``), which a notebook
    shows as a table (``_repr_html_``)."""

    def to_pandas(self) -> Any:
        """The rows and columns of ``eval --format csv`` as a pandas DataFrame (the
        results; ``top_rows``, which ``--top`` lists instead, stay in the document)."""
        return result_frame(self)

    def _repr_html_(self) -> str:
        return self.to_pandas()._repr_html_()
