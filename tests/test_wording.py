"""Words and numbers in the pages' sentences (dashboard/wording.py)."""

from __future__ import annotations

from dashboard.wording import a_digit, number, signed_term


def test_a_digit_takes_the_article_it_is_read_aloud_with():
    assert [a_digit(d) for d in (1, 7, 8)] == ["a 1", "a 7", "an 8"]
    assert a_digit("8", bold=True) == "an **8**"


def test_numbers_are_written_as_arithmetic_writes_them():
    assert number(0.14716) == "0.1472" and number(-3.74381) == "−3.7438"
    assert number(-0.00004) == "0.0000" and number(-0.004, 2) == "0.00", "no negative zero in a table of products"
    # "(x − μ)" with μ = −9.3087 and "+ β" with β = −0.3385, as Inspect's batch-norm line writes them
    assert f"(−3.7438 {signed_term(9.3087)})" == "(−3.7438 + 9.3087)"
    assert f"(−3.7438 {signed_term(-9.3087)})" == "(−3.7438 − 9.3087)"
    assert signed_term(-0.3385) == "− 0.3385" and signed_term(0.3385) == "+ 0.3385"
    assert signed_term(-0.00001) == "+ 0.0000"
