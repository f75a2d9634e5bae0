"""The validation report: what a load read, kept, excluded (with example rows) and decided, in words."""
from __future__ import annotations

from dataclasses import dataclass, field

from .fields import Mapping

__all__ = ["LoadReport", "examples"]


@dataclass
class LoadReport:
    """What a load did, in numbers a person can check."""
    what: str                         # "orders" or "interactions"
    source: str                       # how the file was read
    format: str
    format_label: str
    mapping: Mapping
    rows_read: int = 0
    duplicates_removed: int = 0
    identical_rows_kept: int = 0      # identical rows without an order id: separate purchases, kept
    records_built: int = 0            # orders (after grouping line items) or events
    kept: int = 0
    excluded: dict = field(default_factory=dict)       # reason -> {"count": n, "examples": [row dicts]}
    not_purchases: dict = field(default_factory=dict)  # reason -> count (kept in the data, not counted as buys)
    unrecognised_statuses: dict = field(default_factory=dict)  # status -> orders (counted as purchases)
    #: every status with its orders: (status as read, orders, reason it is not a purchase or None, "known" |
    #: "your choice" | "not recognised")
    statuses: list = field(default_factory=list)
    refund_rows: tuple = (0, 0.0)     # (rows that refund another order, amount) netted into those orders
    matched: tuple | None = None      # events: (from a customer in the orders, kept, joined through an e-mail)
    date_min: object = None
    date_max: object = None
    date_order: str = "auto"          # the convention used ("mdy"/"dmy"), "auto" when not a question
    date_why: str = ""
    date_ambiguous: bool = False
    amount_basis: str = ""            # what revenue is, in the file's own column names
    decimal: str = "dot"
    decimal_why: str = ""
    currencies: dict = field(default_factory=dict)     # currency -> orders
    currency: str | None = None
    converted: dict = field(default_factory=dict)      # currency -> rate into ``currency`` (the founder's rates)
    event_types: dict = field(default_factory=dict)
    unknown_event_types: dict = field(default_factory=dict)
    customers: int = 0
    notes: list = field(default_factory=list)          # what the reader did that the user should know
    warnings: list = field(default_factory=list)
    typed_read: bool = False          # numbers and times parsed by the CSV reader (see orders._typed_columns)
    #: product costs: {"source": words, "purchases", "with_cost", "revenue", "revenue_with_cost", "cost"}
    #: (purchases' net and cost), empty when the orders carry no cost
    costs: dict = field(default_factory=dict)

    def lines(self) -> list[str]:
        unit = "orders" if self.what == "orders" else "events"
        out = [f"{self.what.capitalize()}: {self.format_label} ({self.source})",
               f"  rows read: {self.rows_read:,}"]
        if self.duplicates_removed:
            out.append(f"  exact duplicate rows removed: {self.duplicates_removed:,}")
        if self.identical_rows_kept:
            out.append(f"  identical rows kept as separate purchases (the file has no order id): "
                       f"{self.identical_rows_kept:,}")
        if self.what == "orders":
            out.append(f"  orders built from those rows: {self.records_built:,}")
        if self.refund_rows[0]:
            out.append(f"  refund rows netted into the orders they refund: {self.refund_rows[0]:,} "
                       f"(together {self.refund_rows[1]:,.2f})")
        out.append(f"  {unit} kept: {self.kept:,} from {self.customers:,} customers")
        if self.matched is not None:
            out.append(f"  events from a customer in the orders: {self.matched[0]:,} of {self.matched[1]:,} "
                       f"({self.matched[0] / max(self.matched[1], 1):.0%})")
        for reason, info in self.excluded.items():
            out.append(f"  excluded — {reason}: {info['count']:,}")
            for ex in info["examples"]:
                out.append("      e.g. " + ", ".join(f"{k}={v!r}" for k, v in ex.items()))
        for reason, n in self.not_purchases.items():
            out.append(f"  kept but not counted as purchases — {reason}: {n:,}")
        if self.unrecognised_statuses:
            out.append("  statuses not recognised, counted as purchases: " +
                       ", ".join(f"{k!r} ({v:,})" for k, v in self.unrecognised_statuses.items()))
        if self.date_min is not None:
            out.append(f"  dates: {self.date_min:%Y-%m-%d} to {self.date_max:%Y-%m-%d}")
        if self.date_why:
            out.append(f"  date format: {self.date_why}")
        if self.what == "orders" and self.decimal_why:
            out.append(f"  amounts: {self.decimal_why}")
        if self.amount_basis:
            out.append(f"  revenue: {self.amount_basis}")
        if self.costs:
            out.append(f"  {self.costs_words()}")
        if self.unknown_event_types:
            out.append("  unrecognised event types (kept): " +
                       ", ".join(f"{k} ({v:,})" for k, v in self.unknown_event_types.items()))
        out.extend(f"  note: {n}" for n in self.notes)
        out.extend(f"  warning: {w}" for w in self.warnings)
        return out

    def costs_words(self) -> str:
        """How many purchases carry a product cost, in words (the report, Your data)."""
        c = self.costs
        share = c["revenue_with_cost"] / c["revenue"] if c["revenue"] else 0.0
        return (f"product costs ({c['source']}): known for {c['with_cost']:,} of {c['purchases']:,} purchases "
                f"({share:.0%} of revenue); the others use your margin")

    def __str__(self) -> str:
        return "\n".join(self.lines())


def examples(con, table: str, reason_col: str, cols: dict, source=None, without_examples: tuple = ()) -> dict:
    """reason -> {count, up to 3 example rows shown with the file's own column names}.

    Counts come from ``table``; examples from ``source`` when given (a query with columns ``table`` lacks: read
    again only when a reason needs examples — not for ``without_examples``)."""
    shown = [(k, v) for k, v in cols.items() if v]
    select = ", ".join(f"{k}" for k, _ in shown)
    counts = dict(con.execute(f"SELECT {reason_col}, count(*) FROM {table} WHERE {reason_col} IS NOT NULL "
                              f"GROUP BY ALL ORDER BY 2 DESC").fetchall())
    rows = []
    if set(counts) - set(without_examples):
        rows = con.execute(
            f"SELECT {reason_col}, {select} FROM {f'({source.sql})' if source else table} "
            f"WHERE {reason_col} IS NOT NULL QUALIFY row_number() OVER (PARTITION BY {reason_col}) <= 3",
            source.params if source else None).fetchall()
    out = {r: {"count": n, "examples": []} for r, n in counts.items()}
    for row in rows:
        if row[0] in out:
            out[row[0]]["examples"].append({label: val for (_, label), val in zip(shown, row[1:])})
    return out
