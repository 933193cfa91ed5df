"""The dashboard's charts, as plain Vega-Lite specs.

``st.bar_chart`` and ``st.line_chart`` build an Altair chart and validate it against the Vega-Lite
JSON schema on every call: measured with py-spy, that validation cost the server more CPU per stroke
than preprocessing and prediction together, for every session drawing (and once a second for every
Train page watching a run). ``st.vega_lite_chart`` with a dict spec skips Altair. Its data sits inside
a one-layer spec: top-level ``data`` is converted through pandas to Arrow on every call (another ~2 ms
for ten bars), nested data travels as the few bytes of JSON it is.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator


def digit_bars(values: Sequence[float], measure: str, height: int, where: DeltaGenerator | None = None,
               percent: bool = False) -> None:
    """One bar per digit 0–9 (probabilities, accuracies, counts), digits in order on the x axis."""
    rows = [{"digit": str(d), measure: float(v)} for d, v in enumerate(values)]
    y = {"field": measure, "type": "quantitative", "title": measure}
    if percent:
        y |= {"axis": {"format": "%"}, "scale": {"domain": [0, 1]}}
    _chart(rows, {"type": "bar", "tooltip": True},
           {"x": {"field": "digit", "type": "ordinal", "sort": None, "axis": {"labelAngle": 0}}, "y": y}, height, where)


def line_chart(frame: pd.DataFrame, x: str, y: str, height: int, color: str | None = None,
               where: DeltaGenerator | None = None, x_title: str | None = None,
               x_ticks: Sequence[float] | None = None, share: bool = False) -> None:
    """Lines of ``y`` against ``x`` from a long-format frame, one line per value of ``color``. ``x_title`` names
    the x axis (default: the field), ``x_ticks`` puts its ticks at exactly those values (a sweep's steps, not
    halfway between two), and ``share`` draws y as a percentage on its whole range, 0–100 % (a probability or an
    accuracy: a y axis zoomed to 99–100 % made a drop of 1 % look like a collapse)."""
    x_axis = {"title": x_title or x} | ({"values": list(x_ticks)} if x_ticks is not None else {})
    y_encoding = {"field": y, "type": "quantitative"}
    y_encoding |= {"axis": {"format": "%"}, "scale": {"domain": [0, 1]}} if share else {"scale": {"zero": False}}
    encoding = {"x": {"field": x, "type": "quantitative", "axis": x_axis}, "y": y_encoding}
    if color is not None:
        encoding["color"] = {"field": color, "type": "nominal", "title": None}
    _chart(frame.to_dict("records"), {"type": "line", "tooltip": True, "point": {"size": 12}}, encoding, height, where)


def _chart(rows: list[dict], mark: dict, encoding: dict, height: int, where: DeltaGenerator | None) -> None:
    layer = {"data": {"values": rows}, "mark": mark, "encoding": encoding}
    (where or st).vega_lite_chart({"layer": [layer]}, height=height, width="stretch")


def embedding_map(points: pd.DataFrame, you: tuple[float, float], height: int = 420) -> None:
    """Digits as dots coloured by class on two axes, and the current drawing as a large black cross."""
    dots = {"data": {"values": points.to_dict("records")}, "mark": {"type": "circle", "size": 14, "opacity": 0.6},
            "encoding": {"x": {"field": "x", "type": "quantitative", "title": "1st principal component"},
                         "y": {"field": "y", "type": "quantitative", "title": "2nd principal component"},
                         "color": {"field": "digit", "type": "nominal", "scale": {"scheme": "category10"}},
                         "tooltip": [{"field": "digit"}]}}
    marker = {"data": {"values": [{"x": you[0], "y": you[1], "label": "your digit"}]},
              "mark": {"type": "point", "shape": "cross", "size": 400, "color": "black", "filled": True},
              "encoding": {"x": {"field": "x", "type": "quantitative"}, "y": {"field": "y", "type": "quantitative"},
                           "tooltip": [{"field": "label"}]}}
    st.vega_lite_chart({"layer": [dots, marker]}, height=height, width="stretch")
