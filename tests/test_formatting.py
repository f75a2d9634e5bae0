"""One way to write money, counts and shares (clv.formatting)."""
import math

import pytest

from clv.formatting import money, money_format, percent


@pytest.mark.parametrize("x, currency, text", [
    (1234.567, "USD", "$1,235"), (36.2, "usd", "$36.20"), (-12, "EUR", "−€12.00"), (999.995, "GBP", "£1,000.00"),
    (1234.5, "CHF", "1,234 CHF"), (5.5, "JPY", "¥6"), (0.001, "USD", "$0.00"), (-0.001, "USD", "$0.00"),
    (1234.5, None, "1,234"), (12.5, "", "12.50"), (18_309_123.4, "USD", "$18.31M"), (-2.5e9, "EUR", "−€2.50B"),
    (999_999.4, "GBP", "£999,999"), (123_456_789, None, "123M"), (math.nan, "USD", "—"), (math.inf, None, "—"), (None, "USD", "—")])
def test_money(x, currency, text):
    assert money(x, currency) == text


@pytest.mark.parametrize("x, text", [(0.4923, "49%"), (0.004, "0.4%"), (0.996, "99.6%"), (1.0, "100%"), (0, "0%"),
                                     (math.nan, "—"), (-0.25, "-25%")])
def test_percent(x, text):
    assert percent(x) == text


def test_table_formats_follow_the_currency():
    assert money_format("USD") == "$%,.2f"
    assert money_format("SEK") == "%,.2f SEK"
    assert money_format("KRW") == "₩%,.0f"
    assert money_format(None) == "%,.2f"
