"""Words and numbers for the pages' sentences: a digit with its article, a value as arithmetic writes it."""

from __future__ import annotations


def a_digit(digit: int | str, bold: bool = False) -> str:
    """The digit with its article, as it is read aloud: "a 7", "an 8" (``bold``: "an **8**")."""
    shown = f"**{digit}**" if bold else str(digit)
    return f"{'an' if str(digit) == '8' else 'a'} {shown}"


def number(value: float, digits: int = 4) -> str:
    """``value`` to ``digits`` decimals with a true minus sign, and never "−0.0000": a value that rounds to zero
    is written as zero, whatever its sign."""
    text = f"{value:.{digits}f}"
    return f"{0:.{digits}f}" if float(text) == 0 else text.replace("-", "−")


def signed_term(value: float, digits: int = 4) -> str:
    """``value`` added to an expression, its sign as the operator: "+ 0.3385", "− 0.3385" (not "+ -0.3385")."""
    return f"{'−' if value < 0 and float(f'{-value:.{digits}f}') else '+'} {number(abs(value), digits)}"
