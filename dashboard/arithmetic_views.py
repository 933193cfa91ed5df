"""The Inspect page's two "how" sections: how one unit computes its value, and a convolution step by step.

Thin views: the numbers come from ``model/arithmetic.py`` (a unit's terms, steps and receptive field) and
``model/convolution.py`` (the sliding kernel and the sandbox); this module lays them out as tables, one
equation per step and pictures with the receptive field drawn on them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image, ImageDraw

from dashboard.pictures import CYAN, colourise, enlarge, rgba_on_white, thumbnail
from dashboard.wording import number, signed_term
from model.arithmetic import ExplainableLayer, UnitArithmetic, UnitError, explainable_layers
from model.convolution import PRESETS, KernelError, Step, convolve, format_kernel, output_size, parse_kernel, step
from model.explain import Explainer, conv_kernels
from model.inference import Prediction

TOP_CHANNELS = 3
"""A deep conv unit sums over every input channel: the strongest few are shown in full, the rest as one sum."""
TOP_TERMS = 12
"""A dense unit's largest input × weight terms shown one by one; the rest are summed."""
PLAY_EVERY_S = 0.6
PLAYING = "slide_playing"
"""Whether the kernel slides by itself: a flag of the page's own, flipped by the Play / Pause button."""
OWN_KERNEL = "The model's own first-layer kernel"
TYPED = "Type your own"


# ---------------------------------------------------------------- pictures and tables

def _draw_box(picture: np.ndarray, box: tuple[int, int, int, int], factor: float) -> np.ndarray:
    """``picture`` (RGB) with (top, left, bottom, right) — in pixels before scaling by ``factor`` — outlined."""
    image = Image.fromarray(picture).convert("RGB")
    top, left, bottom, right = (round(v * factor) for v in box)
    if right <= left or bottom <= top:  # wholly in the margin preprocessing put around a narrow picture
        return np.asarray(image)
    width = max(2, image.width // 100)
    ImageDraw.Draw(image).rectangle((left, top, right - 1, bottom - 1), outline=CYAN, width=width)
    return np.asarray(image)


def _grid(values: np.ndarray, inside: np.ndarray | None = None, winner: tuple[int, int] | None = None,
          digits: int = 3) -> pd.io.formats.style.Styler:
    """A k×k block of numbers as a table coloured by sign (blue negative, red positive); padding greyed."""
    frame = pd.DataFrame(values, index=[f"r{r}" for r in range(values.shape[0])],
                         columns=[f"c{c}" for c in range(values.shape[1])])
    bound = float(np.abs(values).max()) or 1.0
    styled = frame.style.format(lambda value: number(value, digits))
    styled = styled.background_gradient(cmap="RdBu_r", vmin=-bound, vmax=bound, axis=None)
    if inside is not None and not inside.all():
        styled = styled.apply(lambda _: np.where(inside, "", "color: #bbb; background-color: #f3f3f3"), axis=None)
    if winner is not None:
        mark = np.full(values.shape, "", object)
        mark[winner] = "font-weight: bold; border: 2px solid #e63946"
        styled = styled.apply(lambda _: mark, axis=None)
    return styled


def _picker_map(values: np.ndarray, chosen: tuple[int, int], key: str, height: int) -> tuple[int, int] | None:
    """A map as a clickable heat map (magma, like the feature maps), the chosen cell outlined. Returns the
    clicked (row, col), if a click came with this run."""
    h, w = values.shape
    cells = [{"row": r, "col": c, "value": round(float(values[r, c]), 4)} for r in range(h) for c in range(w)]
    axis = {"labels": max(h, w) <= 28, "ticks": False, "title": None}
    heat = {"data": {"values": cells},
            "params": [{"name": "unit", "select": {"type": "point", "fields": ["row", "col"], "on": "click",
                                                   "clear": False}}],
            "mark": {"type": "rect", "cursor": "pointer"},
            "encoding": {"x": {"field": "col", "type": "ordinal", "axis": axis},
                         "y": {"field": "row", "type": "ordinal", "axis": axis},
                         "color": {"field": "value", "type": "quantitative", "scale": {"scheme": "magma"},
                                   "legend": {"title": None}},
                         "tooltip": [{"field": "row"}, {"field": "col"}, {"field": "value"}]}}
    marker = {"data": {"values": [{"row": chosen[0], "col": chosen[1]}]},
              "mark": {"type": "rect", "filled": False, "stroke": "#00c8ff", "strokeWidth": 3},
              "encoding": {"x": {"field": "col", "type": "ordinal"}, "y": {"field": "row", "type": "ordinal"}}}
    cell = {"step": max(4, height // max(h, w))}  # square cells, whatever the map's shape
    event = st.vega_lite_chart({"layer": [heat, marker], "height": cell, "width": cell},
                               on_select="rerun", selection_mode="unit", key=key, width="content")
    picked = (event.selection.get("unit") or [None])[0] if event else None
    if not picked or "row" not in picked:
        return None
    return int(picked["row"]), int(picked["col"])


# ---------------------------------------------------------------- choosing a unit

def _vector_grid(length: int) -> int:
    """Columns to lay a vector of ``length`` out as a near-square grid of clickable cells."""
    return length if length <= 10 else int(np.ceil(np.sqrt(length)))


def _first_feature_map(layers: list[ExplainableLayer]) -> int:
    """Where to start: the first layer's last step (``conv1_1_relu``: its output is the first feature map)."""
    return max(i for i, layer in enumerate(layers) if layer.anchor == layers[0].anchor)


def choose_unit(layers: list[ExplainableLayer], outputs: dict[str, np.ndarray]) -> tuple[ExplainableLayer, tuple]:
    """Layer and channel controls, the chosen channel's map to click on, and row / column (or index) controls
    kept in step with the click."""
    names = [layer.name for layer in layers]
    top = st.columns([2, 1])
    name = top[0].selectbox("Layer", names, index=_first_feature_map(layers), key="unit_layer",
                            format_func=lambda n: f"{n} — {'×'.join(map(str, layers[names.index(n)].shape))} "
                                                  f"({layers[names.index(n)].kind})")
    layer = layers[names.index(name)]
    output = outputs[name]
    if layer.is_spatial:
        h, w, channels = layer.shape
        st.session_state["unit_channel"] = min(int(st.session_state.get("unit_channel", 0)), channels - 1)
        channel = int(top[1].number_input("Channel", 0, channels - 1, key="unit_channel"))
        values = output[:, :, channel]
    else:
        channel, columns = 0, _vector_grid(layer.shape[0])
        values = np.full(-(-layer.shape[0] // columns) * columns, np.nan)
        values[:layer.shape[0]] = output
        values = values.reshape(-1, columns)
        h, w = values.shape
    keys = ("unit_row", "unit_col")
    chart = f"unit_map_{name}_{channel}"  # a new map for each layer and channel: no click carried over
    if st.session_state.get("unit_map") != chart:  # a new map starts at its strongest unit, the one worth asking about
        st.session_state["unit_map"] = chart
        st.session_state[keys[0]], st.session_state[keys[1]] = map(int, np.unravel_index(
            np.nanargmax(values), values.shape))
    for k, limit in zip(keys, (h, w)):
        st.session_state[k] = min(int(st.session_state[k]), limit - 1)
    left, right = st.columns([3, 2])
    with left:
        clicked = _picker_map(np.nan_to_num(values, nan=0.0), (st.session_state[keys[0]], st.session_state[keys[1]]),
                              key=chart, height=300)
    if clicked is not None and (chart, clicked) != st.session_state.get("unit_clicked"):
        st.session_state["unit_clicked"] = (chart, clicked)  # apply a click once; the controls stay free after it
        st.session_state[keys[0]], st.session_state[keys[1]] = clicked
    row = int(right.number_input("Row", 0, h - 1, key=keys[0]))
    col = int(right.number_input("Column", 0, w - 1, key=keys[1]))
    if layer.is_spatial:
        right.caption(f"Click a pixel of the map, or set channel, row and column: {name} channel {channel} is "
                      f"{h}×{w}.")
        return layer, (channel, row, col)
    index = min(row * w + col, layer.shape[0] - 1)
    right.caption(f"{name} is a vector of {layer.shape[0]} units, laid out {h}×{w} to click on: "
                  f"row {row}, column {col} is unit **{index}**.")
    return layer, (index,)


# ---------------------------------------------------------------- showing its arithmetic

def _name_input(a: UnitArithmetic, position: tuple[int, ...], previous: str) -> str:
    """How a dense layer names one of its inputs: a pixel, a flattened map's channel and place, or a unit."""
    if a.flat_source is not None:
        h, w, c = a.flat_source
        r, col, ch = np.unravel_index(position[0], a.flat_source)
        return f"pixel ({r}, {col})" if (h, w, c) == (28, 28, 1) else f"{previous} ch {ch} ({r}, {col})"
    return f"{previous} unit {position[0]}"


def _steps(a: UnitArithmetic) -> list[str]:
    """One line of arithmetic per step after the sum, each starting from the previous line's result."""
    lines = []
    for s in a.steps:
        x, y = s.input, s.output
        if s.operation == "batch_norm":
            d = s.detail
            lines.append(f"**batch norm** ({s.layer}): γ·(x − μ)/√(σ² + ε) + β = {number(d['gamma'])} × ({number(x)} "
                         f"{signed_term(-d['moving_mean'])}) / √({number(d['moving_variance'])} + {d['epsilon']:g}) "
                         f"{signed_term(d['beta'])} = **{number(y)}**")
        elif s.operation == "relu":
            lines.append(f"**ReLU** ({s.layer}): max(0, {number(x)}) = **{number(y)}**")
        elif s.operation == "tanh":
            lines.append(f"**tanh** ({s.layer}): tanh({number(x)}) = **{number(y)}**")
        elif s.operation == "softmax":
            lines.append(f"**softmax** ({s.layer}): e^(z − m) / Σ e^(z − m) with z = {number(x)} → **{number(y, 6)}** "
                         "(the table below)")
        elif s.operation == "identity":
            lines.append(f"**{s.layer}**: dropout does nothing once trained (it only acts while training): "
                         f"**{number(y)}**")
        else:
            lines.append(f"**{s.operation}** ({s.layer}): {number(x)} → **{number(y)}**")
    return lines


def _conv_terms(a: UnitArithmetic, previous: str) -> None:
    contributions = a.channel_contributions()
    shown = np.argsort(-np.abs(contributions))[:TOP_CHANNELS]
    many = len(contributions) > 1
    for channel in shown:
        if many:
            st.markdown(f"Input channel **{channel}** of {previous}: contributes **{contributions[channel]:+.4f}**")
        cols = st.columns(3)
        cols[0].caption("Input window" + (" (grey: zero padding)" if not a.inside.all() else ""))
        cols[0].dataframe(_grid(a.window[:, :, channel], a.inside), width="content")
        cols[1].caption("× kernel weights")
        cols[1].dataframe(_grid(a.weights[:, :, channel]), width="content")
        cols[2].caption(f"= products (sum {contributions[channel]:+.4f})")
        cols[2].dataframe(_grid(a.window[:, :, channel] * a.weights[:, :, channel], a.inside), width="content")
    if many and len(contributions) > len(shown):
        rest = float(contributions.sum() - contributions[shown].sum())
        st.markdown(f"The other **{len(contributions) - len(shown)}** input channels add **{rest:+.4f}** together "
                    f"(every channel's share: the table).")
        with st.expander("Every input channel's contribution"):
            st.dataframe(pd.DataFrame({"input channel": np.arange(len(contributions)), "contribution": contributions})
                         .sort_values("contribution", key=np.abs, ascending=False), hide_index=True, height=240)


def _dense_terms(a: UnitArithmetic, previous: str) -> None:
    top, rest, count = a.largest_terms(TOP_TERMS)
    rows = [{"input": _name_input(a, t.position, previous), "value": t.input, "weight": t.weight,
             "input × weight": t.product} for t in top]
    st.caption(f"The {len(top)} largest of its {len(a.terms):,} input × weight terms")
    st.dataframe(pd.DataFrame(rows).style.format({"value": "{:.4f}", "weight": "{:+.4f}", "input × weight": "{:+.4f}"}),
                 hide_index=True)
    if count:
        st.markdown(f"The other **{count:,}** terms add **{rest:+.4f}** together.")
    if a.flat_source == (28, 28, 1):  # an MLP's first layer: the products are a picture of the digit
        products = np.array([t.product for t in a.terms]).reshape(28, 28)
        bound = float(np.abs(products).max()) or 1.0
        st.image(enlarge(colourise(products, "RdBu_r", -bound, bound), 168),
                 caption="Every pixel × its weight (red adds, blue subtracts)", width=168)


def _pool_terms(a: UnitArithmetic) -> None:
    window = a.window[:, :, 0]
    winner = np.unravel_index(np.argmax(np.where(a.inside, window, -np.inf)), window.shape)
    st.caption(f"The {window.shape[0]}×{window.shape[1]} window of channel {a.unit[0]}"
               + (" (the red box: the value that won)" if a.operation == "max" else ""))
    st.dataframe(_grid(window, a.inside, winner if a.operation == "max" else None), width="content")


def _softmax_table(a: UnitArithmetic, probabilities: np.ndarray) -> None:
    s = a.softmax
    st.markdown(f"**softmax**: each digit's e^(z − m) over their sum, m = {s.shift:.4f} (the largest logit; "
                f"subtracting it changes nothing but keeps e^z finite); Σ = {s.total:.6f}")
    frame = pd.DataFrame({"digit": range(len(s.logits)), "logit z": s.logits, "e^(z − m)": s.exponentials,
                          "probability": s.probabilities, "on the Draw page": probabilities})
    st.dataframe(frame.style.format({"logit z": "{:+.4f}", "e^(z − m)": "{:.3e}", "probability": "{:.4%}",
                                     "on the Draw page": "{:.4%}"})
                 .apply(lambda col: ["font-weight: bold" if i == a.unit[0] else "" for i in range(len(col))]),
                 hide_index=True)


def show_arithmetic(a: UnitArithmetic, layers: list[ExplainableLayer], keras_value: float,
                    prediction: Prediction) -> None:
    names = [layer.name for layer in layers]
    anchor_at = names.index(a.anchor)
    previous = names[anchor_at - 1] if anchor_at > 0 else "the 28×28 input"
    where = f"channel {a.unit[0]} at ({a.unit[1]}, {a.unit[2]})" if len(a.unit) == 3 else f"unit {a.unit[0]}"
    st.markdown(f"#### {a.layer}, {where} = {number(a.value)}")
    if a.kind == "conv":
        k = a.window.shape[0]
        st.caption(f"{a.anchor} slides a {k}×{k}×{a.window.shape[2]} kernel over {previous}; at this position it "
                   "multiplies the window under it by the kernel, element by element, and adds everything up.")
        _conv_terms(a, previous)
    elif a.kind == "dense":
        st.caption(f"{a.anchor} weighs every value of {previous} and adds them up.")
        _dense_terms(a, previous)
    elif a.kind == "pool":
        _pool_terms(a)
    else:
        (term,) = a.terms
        st.markdown(f"Flatten computes nothing: it moves channel {term.position[0]} at ({term.position[1]}, "
                    f"{term.position[2]}) of {previous} to place {a.unit[0]} of a vector: **{number(term.input)}**.")
    lines = []
    if a.operation == "weighted sum":
        lines.append(f"Σ of the {len(a.terms):,} products = **{number(a.sum)}**")
        no_bias = a.bias == 0 and any(s.operation == "batch_norm" for s in a.steps)
        lines.append(f"plus the bias: {number(a.sum)} {signed_term(a.bias)} = **{number(a.pre_activation)}**, the "
                     "pre-activation"
                     + (" (no bias: the batch norm after it has its own shift β)" if no_bias else ""))
    elif a.operation in ("max", "average"):
        lines.append(f"{'Largest' if a.operation == 'max' else 'Mean'} of the {len(a.terms)} values = "
                     f"**{number(a.pre_activation)}**")
    lines += _steps(a)
    verdict = "✓" if abs(a.value - keras_value) <= 1e-4 * max(1.0, abs(keras_value)) else "✗"
    lines.append(f"the value in {a.layer}: **{number(a.value)}**; the network's own forward pass gives "
                 f"{number(keras_value)} {verdict}")
    st.markdown("\n".join(f"1. {line}" for line in lines))
    if a.softmax is not None:
        _softmax_table(a, prediction.probabilities)


def receptive_field_pictures(a: UnitArithmetic, prediction: Prediction) -> None:
    """The unit's receptive field on the 28×28 input and traced back onto the original drawing."""
    pre = prediction.preprocessed
    top, left, bottom, right = a.receptive_field
    big = np.repeat(enlarge(pre.image, 224)[..., None], 3, axis=2)
    cols = st.columns(2)
    cols[0].image(_draw_box(big, a.receptive_field, big.shape[0] / 28), width=224,
                  caption=f"Receptive field on the 28×28 input: rows {top}–{bottom - 1}, columns {left}–{right - 1}")
    source = pre.source if pre.source.shape[2] == 3 else rgba_on_white(pre.source)
    if source.shape[:2] != (28, 28):
        picture = thumbnail(_draw_box(source[..., :3], pre.source_box(a.receptive_field), 1.0), 224, fill=None)
        cols[1].image(picture, width=224, caption="…and where that is on the drawing")


def how_a_unit_computes(explainer: Explainer, prediction: Prediction) -> None:
    st.subheader("3 · How a unit computes")
    st.caption("Every number in a feature map is a small calculation. Pick a unit — click a pixel of the map, or "
               "use the controls — and follow its arithmetic on this input, step by step, to the value the next "
               "layer receives.")
    x = prediction.preprocessed.model_input
    try:
        layers = explainable_layers(explainer.model)
        outputs = explainer.layer_outputs(x)
    except UnitError as exc:
        st.info(f"This model cannot be explained unit by unit: {exc}.", icon=":material/info:")
        return
    layer, unit = choose_unit(layers, outputs)
    arithmetic = explainer.unit(x, layer.name, unit)
    output = outputs[layer.name]
    keras_value = float(output[unit[1], unit[2], unit[0]] if layer.is_spatial else output[unit[0]])
    show_arithmetic(arithmetic, layers, keras_value, prediction)
    receptive_field_pictures(arithmetic, prediction)


# ---------------------------------------------------------------- convolution, step by step

def _kernel_choice(explainer: Explainer) -> tuple[np.ndarray, float, str, int | None] | None:
    """(kernel, bias, description, padding the model uses or None) from the model, a preset or typed numbers;
    None while the typed numbers are not a kernel."""
    kernels = conv_kernels(explainer.model)
    sources = ([OWN_KERNEL] if kernels else []) + list(PRESETS) + [TYPED]
    cols = st.columns([2, 1])
    source = cols[0].selectbox("Kernel", sources, key="slide_source")
    if source == OWN_KERNEL:
        name, kernel = kernels[0]
        layer = explainer.model.get_layer(name)
        channel = int(cols[1].number_input("Its channel", 0, kernel.shape[-1] - 1, key="slide_channel"))
        bias = float(layer.bias.numpy()[channel]) if layer.use_bias else 0.0
        padding = (kernel.shape[0] - 1) // 2 if layer.padding == "same" else 0
        return np.asarray(kernel[:, :, 0, channel], np.float64), bias, f"{name} channel {channel}", padding
    if source == TYPED:
        text = cols[1].text_area("k×k numbers, one row per line", format_kernel(PRESETS["Sharpen"]),
                                 key="slide_typed", height=120)
        try:
            return parse_kernel(text), 0.0, "your kernel", None
        except KernelError as exc:  # this section waits for a usable kernel; the rest of the page goes on
            st.error(f"That kernel can't be used: {exc}", icon=":material/block:")
            return None
    return PRESETS[source], 0.0, source.lower(), None


def _play_or_pause(total: int) -> None:
    """The Play / Pause button (a callback, so the page is drawn with the new label): from the start again
    when the kernel already stands at the last position."""
    st.session_state[PLAYING] = not st.session_state.get(PLAYING, False)
    if st.session_state[PLAYING] and st.session_state.get("slide_position", 0) >= total - 1:
        st.session_state["slide_position"] = 0


def play_steps(side: int) -> dict[str, int]:
    """How far one tick of Play moves the kernel, by name: a position at a time shows every sum, a row at a time
    fills a 28×28 map in 28 ticks instead of 784 (17 s instead of 8 minutes)."""
    return {"one position": 1, "four positions": 4, "a row": side}


def _advance(total: int, by: int) -> None:
    """One tick of Play: ``by`` positions on; at the last one, stop (a full rerun ends the timer)."""
    position = st.session_state.get("slide_position", 0) + by
    if position >= total - 1:
        st.session_state["slide_position"], st.session_state[PLAYING] = total - 1, False
        st.rerun()
    st.session_state["slide_position"] = position


def convolution_step_by_step(explainer: Explainer, prediction: Prediction) -> None:
    st.subheader("4 · Convolution, step by step")
    st.caption("A conv layer slides its kernel over the input: at each position it multiplies the window under the "
               "kernel element by element and adds the products up, one number of the output map. Choose the "
               "kernel, the stride and the padding; play it, or step with the slider.")
    image = prediction.preprocessed.image.astype(np.float64)
    choice = _kernel_choice(explainer)
    if choice is None:
        return
    kernel, bias, described, own_padding = choice
    k = kernel.shape[0]
    cols = st.columns(3)
    stride = int(cols[0].number_input("Stride s", 1, 4, 1, key="slide_stride"))
    padding = int(cols[1].number_input("Padding p", 0, 4, own_padding if own_padding is not None else (k - 1) // 2,
                                       key=f"slide_padding_{own_padding}"))
    try:
        full = convolve(image, kernel, stride, padding, bias)
    except KernelError as exc:
        st.error(f"{exc}.", icon=":material/block:")
        return
    side = full.shape[0]
    cols[2].markdown(f"Output **{side}×{side}**: ⌊(n + 2p − k) / s⌋ + 1 = ⌊(28 + 2·{padding} − {k}) / {stride}⌋ + 1 "
                     f"= {output_size(28, k, stride, padding)}")
    if own_padding is not None and (stride, padding) == (1, own_padding):
        st.caption(f"With the model's own padding ({own_padding}) and stride (1) this is {described}'s pre-activation "
                   "map; the feature map shown above is it after batch norm (where the model has it) and the "
                   "activation.")
    total = side * side
    st.session_state["slide_position"] = min(st.session_state.get("slide_position", 0), total - 1)
    playing = st.session_state.get(PLAYING, False)
    play, speed = st.columns([1, 5], vertical_alignment="bottom")
    play.button("Pause" if playing else "Play", icon=":material/pause:" if playing else ":material/play_arrow:",
                key="slide_play", on_click=_play_or_pause, args=(total,))
    steps = play_steps(side)
    by = steps[speed.segmented_control("Each step of Play moves the kernel", list(steps), default="one position",
                                       key="slide_speed") or "one position"]
    playing = st.session_state.get(PLAYING, False)

    @st.fragment(run_every=PLAY_EVERY_S if playing else None)
    def sliding() -> None:
        if st.session_state.get(PLAYING):
            _advance(total, by)
        position = st.slider("Position", 0, total - 1, key="slide_position",
                             help="Row by row, as the kernel slides: position = row × width + column")
        s = step(image, kernel, position, stride, padding, bias)
        show_step(image, full, s, k)

    sliding()


def show_step(image: np.ndarray, full: np.ndarray, s: Step, k: int) -> None:
    """The window on the input, the products and their sum, and the output map filled up to this position."""
    factor = 224 / 28
    picture = np.repeat(enlarge(image, 224)[..., None], 3, axis=2)
    window = (max(s.top, 0), max(s.left, 0), min(s.top + k, 28), min(s.left + k, 28))
    side = full.shape[0]
    filled = np.full(full.shape, np.nan)
    flat = filled.reshape(-1)
    flat[:s.row * side + s.col + 1] = full.reshape(-1)[:s.row * side + s.col + 1]
    bound = float(np.abs(full).max()) or 1.0
    shown = colourise(np.nan_to_num(filled, nan=0.0), "RdBu_r", -bound, bound)
    shown[np.isnan(filled)] = 255
    big = enlarge(shown, 224)
    out_factor = big.shape[0] / side
    cols = st.columns([1.2, 1, 1.2])
    cols[0].image(_draw_box(picture, window, factor), width=224,
                  caption=f"The kernel over rows {s.top}…{s.top + k - 1}, columns {s.left}…{s.left + k - 1}")
    cols[1].caption("Window × kernel = products")
    cols[1].dataframe(_grid(s.products, digits=2), width="content")
    cols[1].markdown((f"Σ = {number(s.total)} {signed_term(s.bias)} (the bias) = **{number(s.value)}**" if s.bias else
                      f"Σ = **{number(s.value)}**") + f" → output ({s.row}, {s.col})")
    cols[2].image(_draw_box(big, (s.row, s.col, s.row + 1, s.col + 1), out_factor), width=224,
                  caption=f"The output map so far ({s.row * side + s.col + 1} of {side * side}; red +, blue −)")
