"""The Draw page's picture of a number read: each digit's box with its label, no label over another."""

from __future__ import annotations

import numpy as np

from dashboard.pictures import CYAN, boxes_on, label_places


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_labels_of_narrow_digits_side_by_side_go_a_line_higher_instead_of_over_each_other():
    boxes = [(40, 10, 200, 30), (40, 34, 200, 54), (40, 58, 200, 110), (40, 160, 200, 200)]
    widths, line = [60.0] * 4, 20
    places = label_places(boxes, widths, line)
    rects = [(x, y, x + w, y + line) for (x, y), w in zip(places, widths)]
    assert not any(_overlap(a, b) for i, a in enumerate(rects) for b in rects[i + 1:])
    assert [y for _, y in places] == [20, 0, -20, 20], "the nearest free line; the far digit right above its box"
    assert all(x == box[1] for (x, _), box in zip(places, boxes)), "each label starts at its box's left"


def test_the_picture_grows_at_the_top_where_the_labels_need_room_and_keeps_its_boxes_on_the_ink():
    rgba = np.zeros((120, 200, 4), np.uint8)
    rgba[30:110, 20:26, 3] = rgba[30:110, 30:36, 3] = 255  # two 1s side by side
    boxes = [(30, 20, 110, 26), (30, 30, 110, 36)]
    drawn = boxes_on(rgba, boxes, ["1 · 99%", "1 · 98%"])
    band = drawn.shape[0] - 120
    assert drawn.shape[1] == 200 and band > 0, "a second line of labels above the ink's top"
    assert (drawn[30 - 2 + band, 18:28] == CYAN).all(axis=1).any(), "the first box's top edge, moved down with it"
    assert boxes_on(rgba, boxes[:1], ["1 · 99%"]).shape == (120, 200, 3), "one label fits above its box"
