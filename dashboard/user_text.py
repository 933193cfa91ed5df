"""Text that users typed or named (run names, uploaded file names), shown exactly as written.

Streamlit renders headings, captions and messages as Markdown (with its own ``:red[…]``, ``:material/…:``
and ``$…$`` extensions), so a run called ``**[win](http://…)**`` would become a bold link. Every
character that Markdown or those extensions treat specially is backslash-escaped here.
"""

from __future__ import annotations

import re

_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>!|~$:])")
"""Markdown's and Streamlit's markup characters; ``. - + #`` mark up only at the start of a line, and
user text is always shown inside a sentence."""


_AUTOLINK = re.compile(r"(?i)(https?|ftp|www|mailto)")
"""Where GitHub-flavoured Markdown turns bare text into a link (``http://…``, ``www.…``) even with its
punctuation escaped: a zero-width space after the scheme keeps it text and looks the same."""


def literal(text: str) -> str:
    """``text`` escaped so that Streamlit's Markdown shows it character for character, on one line."""
    escaped = _SPECIAL.sub(r"\\\1", " ".join(str(text).split()))
    return _AUTOLINK.sub("\\1\u200b", escaped)
