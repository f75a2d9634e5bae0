"""One way to write each kind of number for a founder: money (with the shop's currency), counts, shares.

Used by the pages, the HTML report and the captions, so "$1,234" on one page is "$1,234" on the next. Money below
1,000 keeps its cents ("$36.20"), above drops them ("$1,234"), from a million on it is short ("$18.31M"); currencies
without minor units (JPY, KRW…) never show decimals. Tables keep every digit (``money_format``). Shares and probabilities are percentages everywhere ("49%", "0.4%" below one percent).
"""
from __future__ import annotations

import math

__all__ = ["SYMBOLS", "ZERO_DECIMAL", "symbol", "money", "count", "percent", "money_format"]

#: ISO 4217 code -> the symbol written before the amount (others are written as a code after it: "1,234 CHF")
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CNY": "¥", "INR": "₹", "KRW": "₩", "BRL": "R$",
           "CAD": "CA$", "AUD": "A$", "NZD": "NZ$", "MXN": "MX$", "HKD": "HK$", "SGD": "S$", "ILS": "₪",
           "PLN": "zł ", "TRY": "₺", "NGN": "₦", "PHP": "₱", "VND": "₫", "UAH": "₴", "THB": "฿", "ZAR": "R "}
#: currencies written without decimals
ZERO_DECIMAL = {"JPY", "KRW", "VND", "CLP", "ISK", "HUF", "TWD", "UGX", "XAF", "XOF"}
_SIGN = "−"  # a real minus: reads better than a hyphen next to a currency symbol


def symbol(currency: str | None) -> str:
    """What goes before an amount in ``currency`` ("" when unknown or none)."""
    return SYMBOLS.get((currency or "").upper(), "")


def _finite(x) -> float | None:
    """``x`` as a finite float, or None (missing, text, NaN, infinite): written as "—"."""
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def money(x, currency: str | None = None) -> str:
    """An amount of money in words a founder reads at a glance: "$1,234", "$36.20", "−€12.00", "1,234 CHF"; "—"
    for a missing or infinite value."""
    x = _finite(x)
    if x is None:
        return "—"
    code = (currency or "").upper()
    digits = 0 if abs(x) >= 1000 or code in ZERO_DECIMAL else 2
    if abs(x) >= 1e6:  # a headline figure stays short: "$18.31M", "$2.4B"
        big, unit = (abs(x) / 1e9, "B") if abs(x) >= 1e9 else (abs(x) / 1e6, "M")
        text = f"{big:,.2f}{unit}" if big < 100 else f"{big:,.0f}{unit}"
    else:
        text = f"{abs(x):,.{digits}f}"
    if text.strip("0.,") == "":
        x = 0.0  # no "−$0.00"
    sign = _SIGN if x < 0 else ""
    sym = symbol(code)
    if sym:
        return f"{sign}{sym}{text}"
    return f"{sign}{text} {code}" if code else f"{sign}{text}"


def count(x) -> str:
    """A count: "12,345"; "—" when missing."""
    x = _finite(x)
    return "—" if x is None else f"{x:,.0f}"


def percent(x, digits: int | None = None) -> str:
    """A share or a probability as a percentage: "49%"; one decimal below 1 % and above 99 % where it matters
    ("0.4%", "99.6%"); "—" when missing."""
    x = _finite(x)
    if x is None:
        return "—"
    if digits is None:
        pct = 100 * x
        digits = 1 if (0 < abs(pct) < 1 or 99 < abs(pct) < 100) else 0
    return f"{100 * x:.{digits}f}%"


def money_format(currency: str | None = None, decimals: int = 2) -> str:
    """A printf-style format for money columns of Streamlit tables ("$%,.2f"; "%,.0f CHF")."""
    code = (currency or "").upper()
    if code in ZERO_DECIMAL:
        decimals = 0
    sym = symbol(code)
    number = f"%,.{decimals}f"
    return f"{sym}{number}" if sym or not code else f"{number} {code}"
