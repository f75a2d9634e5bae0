"""Amounts, ids and statuses as DuckDB macros, and the one decimal convention of a file.

An amount is read with *one* decimal mark per file, decided from the whole column (``decimal_convention``):
"1.234" and "12,500" in one file are never read by two conventions. Currency symbols and codes next to the
number (``$12.50``, ``12,34 €``, ``12.50 USD``) are read into the currency; accounting negatives ``(12.50)``,
trailing minus and the Unicode minus are negatives. NaN, infinities and absurd values are excluded per row.
"""
from __future__ import annotations

from dataclasses import dataclass

from .dates import install_date_macros
from .fields import q

__all__ = ["install_macros", "Decimal", "decimal_convention", "MAX_AMOUNT"]

MAX_AMOUNT = 1e9  # per order: beyond it a value is a typo or a unit error, not a sale


def install_macros(con) -> None:
    """Parsing rules shared by every load, as DuckDB macros (so the rules live in one place)."""
    con.execute("SET TimeZone = 'UTC'")
    install_date_macros(con)
    # ids: trimmed; e-mails (name@domain.tld) lower-cased (the one kind of id whose case means nothing); "17850.0" (a numeric id read
    # as a float upstream) is "17850"; Excel's protective apostrophe before digits ('9980311896380) is dropped
    con.execute("""
        CREATE OR REPLACE TEMP MACRO clv_id(x) AS coalesce(
            CASE WHEN suffix(x, '.0') THEN try_cast(try_cast(trim(x) AS DOUBLE) AS HUGEINT)::VARCHAR END,
            CASE WHEN regexp_full_match(trim(x), '[^@\s]+@[^@\s]+\.[^@\s]+') THEN nullif(lower(trim(x)), '')
                 WHEN regexp_full_match(trim(x), '''[0-9]+') THEN substr(trim(x), 2)
                 ELSE nullif(trim(x), '') END)""")
    # the digits and separators of an amount, read with one convention ('dot' or 'comma'); NULL if it does not fit
    con.execute(r"""
        CREATE OR REPLACE TEMP MACRO clv_num(s, conv) AS CASE
            WHEN conv = 'comma' THEN CASE WHEN regexp_full_match(s, '[0-9]+(,[0-9]+)?|[0-9]{1,3}(\.[0-9]{3})+(,[0-9]+)?|,[0-9]+')
                                          THEN try_cast(replace(replace(s, '.', ''), ',', '.') AS DOUBLE) END
            ELSE CASE WHEN regexp_full_match(s, '[0-9]+(\.[0-9]+)?|[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?|\.[0-9]+')
                      THEN try_cast(replace(s, ',', '') AS DOUBLE) END END""")
    # an amount's number runs from its first digit to its last; inside it only digits, the decimal mark and
    # thousands separators (, . space, no-break spaces, apostrophe); around it a sign, brackets and a currency:
    # a symbol ("$", "R$", "12,50 €"), a three-letter code ("USD 3.20", "3.20EUR") or, after a space, a short word
    # ("12,50 kr"). Anything else is no amount: "1O5" (a letter O among the digits) was read as 15, "10O" as 10
    con.execute(r"""
        CREATE OR REPLACE TEMP MACRO clv_number_part(x) AS regexp_extract(x, '[.,]?[0-9](.*[0-9])?', 0)""")
    con.execute(r"""
        CREATE OR REPLACE TEMP MACRO clv_amount_shape(x, part) AS
            regexp_full_match(part, '[0-9.,\s''  ]+')
            AND regexp_full_match(substr(x, 1, strpos(x, part) - 1),
                                  '[\s (+\-−‐–]*(([A-Z]{0,3}\p{Sc}|[A-Z]{3})|[A-Za-z]{1,3}\.?\s)?[\s (+\-−‐–]*')
            AND regexp_full_match(substr(x, strpos(x, part) + length(part)),
                                  '[\s )\-−‐–]*(\p{Sc}|[A-Z]{3}|\s[A-Za-z]{1,3}\.?)?[\s )\-−‐–]*')""")
    con.execute(r"""
        CREATE OR REPLACE TEMP MACRO clv_amount(x, conv) AS CASE
            WHEN nullif(trim(x), '') IS NULL THEN NULL
            WHEN conv <> 'comma' AND try_cast(trim(x) AS DOUBLE) IS NOT NULL THEN try_cast(trim(x) AS DOUBLE)
            WHEN NOT clv_amount_shape(x, clv_number_part(x)) THEN NULL
            ELSE (CASE WHEN regexp_matches(x, '^\s*\(.*\)\s*$|[-−‐–]') THEN -1 ELSE 1 END)
                 * clv_num(regexp_replace(clv_number_part(x), '[^0-9.,]', '', 'g'), conv) END""")
    con.execute(r"""
        CREATE OR REPLACE TEMP MACRO clv_symbol(x) AS CASE regexp_extract(x, '[$€£¥₹]|[A-Z]{3}', 0)
            WHEN '' THEN NULL WHEN '€' THEN 'EUR' WHEN '£' THEN 'GBP' WHEN '¥' THEN 'JPY' WHEN '₹' THEN 'INR'
            ELSE regexp_extract(x, '[$€£¥₹]|[A-Z]{3}', 0) END""")


@dataclass(frozen=True)
class Decimal:
    mark: str              # "dot" or "comma"
    why: str
    symbols: int = 0       # values with a currency symbol or code next to the number
    warning: str | None = None


def decimal_convention(con, view: str, columns: list[str], *, user: str = "auto", comma_hint: bool = False) -> Decimal:
    """The file's decimal mark, from every value of the amount columns (see the module docstring)."""
    if not columns:
        return Decimal("dot", "no amount columns")
    parts = " UNION ALL ".join(f"SELECT {q(c)} AS x FROM {q(view)}" for c in columns)
    dot, comma, groups_dot, groups_comma, symbols = con.execute(rf"""
        SELECT count(*) FILTER (WHERE regexp_matches(s, '\.[0-9]{{1,2}}$|\.[0-9]{{4,}}$|,[0-9]{{3}}.*\.[0-9]')),
               count(*) FILTER (WHERE regexp_matches(s, ',[0-9]{{1,2}}$|,[0-9]{{4,}}$|\.[0-9]{{3}}.*,[0-9]')),
               count(*) FILTER (WHERE regexp_full_match(s, '[0-9]{{1,3}}(\.[0-9]{{3}})+')),
               count(*) FILTER (WHERE regexp_full_match(s, '[0-9]{{1,3}}(,[0-9]{{3}})+')),
               count(*) FILTER (WHERE regexp_matches(x, '[$€£¥₹]|[A-Z]{{3}}'))
        FROM (SELECT x, regexp_replace(x, '[^0-9.,]', '', 'g') AS s FROM ({parts}) WHERE x IS NOT NULL)""").fetchall()[0]
    if user in ("dot", "comma"):
        return Decimal(user, f"decimal {'point' if user == 'dot' else 'comma'}, as chosen", symbols)
    if dot and comma:
        mark = "dot" if dot >= comma else "comma"
        minority = comma if mark == "dot" else dot
        return Decimal(mark, f"mostly a decimal {'point' if mark == 'dot' else 'comma'} ({max(dot, comma):,} values)",
                       symbols, f"{minority:,} amounts are written with the other decimal mark: they cannot be read "
                                f"safely and are excluded (listed above)")
    if dot:
        return Decimal("dot", "decimal point (values like 12.50)", symbols)
    if comma:
        return Decimal("comma", "decimal comma (values like 12,50)", symbols)
    if groups_dot or groups_comma:
        mark = "comma" if (groups_dot and not groups_comma) or comma_hint else "dot"
        example = "1.234" if groups_dot else "12,500"
        return Decimal(mark, f"ambiguous: amounts like {example} could mean either; read with a decimal "
                             f"{'comma' if mark == 'comma' else 'point'}", symbols,
                       f"amounts like {example} are ambiguous: read with a decimal {'comma' if mark == 'comma' else 'point'}"
                       " — choose the other decimal mark if that is wrong")
    return Decimal("dot", "whole numbers only", symbols)
