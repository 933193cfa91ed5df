"""English for the pages' sentences about digits."""

from __future__ import annotations


def a_digit(digit: int | str, bold: bool = False) -> str:
    """The digit with its article, as it is read aloud: "a 7", "an 8" (``bold``: "an **8**")."""
    shown = f"**{digit}**" if bold else str(digit)
    return f"{'an' if str(digit) == '8' else 'a'} {shown}"
