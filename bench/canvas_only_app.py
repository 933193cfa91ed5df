"""The yardstick for ``bench/load.py``: a Streamlit page holding only the Draw page's canvas and a metric.

Whatever a stroke costs the server here is the price of the canvas component and Streamlit itself;
the dashboard's Draw page is judged by how much it adds on top.
"""

import streamlit as st
from streamlit_drawable_canvas import st_canvas

# The Draw page's canvas as a student finds it: 18 px black pen on the transparent "white paper".
canvas = st_canvas(stroke_width=18, stroke_color="#000000", background_color="", height=280, width=280,
                   return_image_data=True, key="canvas")
pixels = canvas.image_data  # a property that decodes the PNG at each access: once
ink = 0 if pixels is None else int((pixels[..., 3] > 0).sum())
st.metric("Ink pixels", ink)
