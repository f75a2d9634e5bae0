"""Product costs: a products file (SKU or product name, cost per unit) read into a ``Mapping``'s ``product_costs``.

Shops know what their goods cost: Shopify's products export writes "Variant SKU" and "Cost per item",
BigCommerce's "Product SKU"/"Code" and "Cost Price", Square's item library "SKU" and "Default Unit Cost",
WooCommerce's Cost of Goods extension "Meta: _wc_cog_cost"; any file with a SKU (or a product name) and a cost does.
A line's cost is then its quantity × the cost of its SKU (else of its product name); an order's cost is the sum of
its lines' (clv.ingest.orders). Every row of the file is accounted for in ``ProductCosts.lines``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from ..errors import DataError
from .dialect import diagnose, source
from .fields import cost_key, norm, q
from .sniff import open_inputs
from .values import decimal_convention, install_macros

__all__ = ["ProductCosts", "read_product_costs", "SKU_NAMES", "NAME_NAMES", "COST_NAMES"]

#: accepted (normalised) header names, in preference
SKU_NAMES = ("variantsku", "sku", "productsku", "productcodesku", "itemsku", "code", "productcode", "itemcode",
             "stockcode", "artikelnummer", "referenceproduit", "reference")
NAME_NAMES = ("title", "name", "productname", "itemname", "product", "producttitle", "description", "artikelname",
              "nomduproduit", "nombre")
COST_NAMES = ("costperitem", "costprice", "defaultunitcost", "unitcost", "cost", "metawccogcost", "wccogcost",
              "costofgoods", "cogs", "purchaseprice", "buyprice", "einkaufspreis", "einstandspreis", "prixdachat",
              "preciodecoste", "costounitario", "inkoopprijs")
#: a products file is small; a larger one is most likely an orders export in the wrong slot
MAX_ROWS = 2_000_000


@dataclass(frozen=True)
class ProductCosts:
    """Costs per unit keyed by SKU and by product name, and what happened to every row of the file."""
    costs: tuple                    # ("sku" | "name", key as cost_key makes it, cost per unit)
    source: str
    sku_column: str | None
    name_column: str | None
    cost_column: str
    rows: int
    used: int                       # rows whose cost was read
    without_cost: int = 0           # rows with an empty cost (Shopify leaves it empty where it was never entered)
    unreadable: tuple = ()          # (count, example) of costs that are not a number ≥ 0
    without_key: int = 0            # rows with neither SKU nor name
    conflicts: tuple = ()           # (count, example key): a key written twice with different costs (the first kept)
    notes: list = field(default_factory=list)

    def lines(self) -> list[str]:
        by = " and ".join(f"'{c}'" for c in (self.sku_column, self.name_column) if c)
        out = [f"Product costs: {self.source}", f"  rows read: {self.rows:,}",
               f"  costs per unit read from '{self.cost_column}', matched to the orders by {by}: {self.used:,} rows"]
        if self.without_cost:
            out.append(f"  rows with an empty cost (their products' orders fall back to your margin): "
                       f"{self.without_cost:,}")
        if self.unreadable:
            out.append(f"  costs that are not a number ≥ 0 (left out): {self.unreadable[0]:,}, e.g. "
                       f"{self.unreadable[1]!r}")
        if self.without_key:
            out.append(f"  rows with no SKU and no product name (left out): {self.without_key:,}")
        if self.conflicts:
            out.append(f"  SKUs or names written twice with different costs (the first row's cost is used): "
                       f"{self.conflicts[0]:,}, e.g. {self.conflicts[1]!r}")
        return out + [f"  {n}" for n in self.notes]


def _pick(columns, names) -> str | None:
    by_norm = {}
    for c in columns:
        by_norm.setdefault(norm(c), c)
    return next((by_norm[n] for n in names if n in by_norm), None)


def read_product_costs(paths, con: duckdb.DuckDBPyConnection | None = None, sku_column: str | None = None,
                       name_column: str | None = None, cost_column: str | None = None) -> ProductCosts:
    """Read a products file's cost per unit (columns found by their names unless given)."""
    con = con or duckdb.connect()
    install_macros(con)
    with open_inputs(paths, con) as sn:
        cols = tuple(sn.columns)
        cost = cost_column or _pick(cols, COST_NAMES)
        sku = sku_column or _pick(cols, SKU_NAMES)
        name = name_column or _pick([c for c in cols if c not in (sku, cost)], NAME_NAMES)
        if cost is None:
            raise DataError("The product costs file has no cost column.", column=None,
                            expected="a column of cost per unit ('Cost per item' in Shopify's products export, "
                                     "'Cost Price' in BigCommerce's, 'Default Unit Cost' in Square's, or 'cost') next "
                                     "to a 'SKU' or product name column.")
        if sku is None and name is None:
            raise DataError(f"The product costs file has a cost column ('{cost}') but no SKU or product name to "
                            "match it to the orders.", column=cost,
                            expected="a 'SKU' column (Shopify: 'Variant SKU') or a product name ('Title', 'Name').")
        for c in (sku, name, cost):
            if c is not None and c not in cols:
                raise DataError(f"The product costs file has no column {c!r}.", expected=", ".join(cols[:20]))
        try:
            with source(con, sn, "_src_costs"):
                n = con.execute("SELECT count(*) FROM _src_costs").fetchall()[0][0]
                if n > MAX_ROWS:
                    raise DataError(f"The product costs file has {n:,} rows: more than a products list "
                                    f"({MAX_ROWS:,} at most). Is it an orders export?", column=cost,
                                    expected="one row per product or variant with its cost.")
                dec = decimal_convention(con, "_src_costs", [cost])
                rows = con.execute(
                    f"SELECT {q(sku) if sku else 'NULL'}, {q(name) if name else 'NULL'}, {q(cost)}, "
                    f"clv_amount({q(cost)}, $dec) FROM _src_costs", {"dec": dec.mark}).fetchall()
        except duckdb.Error as exc:
            raise diagnose(sn, exc, "product costs") from None
        description = sn.description
    seen: dict = {}
    empty = no_key = 0
    bad: list = []
    conflicts: list = []
    used = 0
    for s, nm, raw, value in rows:
        keys = [(k, cost_key(v)) for k, v in (("sku", s), ("name", nm)) if cost_key(v)]
        if raw is None or not str(raw).strip():
            empty += 1
            continue
        if value is None or not value == value or value < 0 or value > 1e9:
            bad.append(raw)
            continue
        if not keys:
            no_key += 1
            continue
        used += 1
        for k in keys:
            if k in seen:
                if abs(seen[k] - value) > 1e-9:
                    conflicts.append(k[1])
                continue
            seen[k] = float(value)
    if not seen:
        raise DataError(f"No product cost could be read from '{cost}': {empty:,} rows are empty and {len(bad):,} "
                        "are not numbers.", column=cost, example={cost: bad[0]} if bad else None,
                        expected="costs per unit like 12.50 on each product or variant row.")
    costs = tuple((k, key, v) for (k, key), v in seen.items())
    return ProductCosts(costs, description, sku, name, cost, len(rows), used, empty,
                        (len(bad), bad[0]) if bad else (), no_key,
                        (len(conflicts), conflicts[0]) if conflicts else ())
