"""The pipeline, declared once: named steps from a shop to scored customers, each a pure function of exactly the
settings it reads and the steps it needs, memoised by exactly those.

The app (ui/model.py, on a session's memo), the CLI and ``clv.scoring.score_table`` (on a dict of their own) and the
benches (timing each step through ``on_step``) all evaluate this one graph. A step added later — an interval, a
baseline — is one more ``Step`` here, and every caller has it.

    run = Pipeline(shop, Settings(margin=0.5))
    run.get("scored")                    # fits what it needs, once
    run.with_settings(margin=0.3).get("scored")   # same cache: only pricing and what reads it run again

A step's function receives a ``StepInputs``: ``inputs.settings.<name>`` for the settings it declared in ``reads``
and ``inputs["<step>"]`` for the steps it declared in ``needs`` — nothing else, so its memo key (those settings'
values and those steps' keys) is exact by construction: reading an undeclared setting or step raises.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import pandas as pd

from . import defaults
from .errors import ModelError

if TYPE_CHECKING:
    from .segments import SegmentParams

__all__ = ["Settings", "Step", "STEPS", "Pipeline", "StepInputs", "ChurnChoice", "segment_params", "steps_reading"]


@dataclass(frozen=True)
class Settings:
    """Every assumption the analysis reads, with the defaults every entry point starts from (clv.defaults)."""
    horizon_months: int = defaults.HORIZON_MONTHS
    margin: float = defaults.MARGIN                  # gross margin, 0..1
    discount_rate: float = defaults.DISCOUNT_RATE    # yearly, 0..1
    cac: float = defaults.CAC
    churn_window_days: int = defaults.CHURN_WINDOW_DAYS
    churn_model: str = "auto"      # "palive", "model" (tried, used when it beats the purchase model), "auto" (tried
                                   # only when interactions are loaded)
    rfm_method: str = "quantiles"  # or "thresholds"
    recency_cuts: tuple = defaults.RECENCY_CUTS
    frequency_cuts: tuple = defaults.FREQUENCY_CUTS
    monetary_cuts: tuple = defaults.MONETARY_CUTS
    k: int | None = None           # None: chosen by silhouette
    purchase_model: str = "auto"   # "auto" (by backtest) or a clv.value.PURCHASE_MODELS key
    cluster_features: str = "rfm"  # or "rfm+behaviour"
    first_time_days: int = defaults.FIRST_TIME_DAYS
    big_spender_top_pct: float = defaults.BIG_SPENDER_TOP_PCT
    high_aov_pct: float = defaults.HIGH_AOV_PCT
    discount_share_min: float = defaults.DISCOUNT_SHARE_MIN
    cart_days: int = defaults.CART_DAYS
    vip_tenure_months: int = defaults.VIP_TENURE_MONTHS
    as_of: str | None = None       # observation date (YYYY-MM-DD); None: the last date in the data
    tabulate_months: int = 24      # months of expected purchases tabulated per fit: any horizon up to this is priced
                                   # without a refit (a one-shot CLI run tabulates only its horizon)


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[["StepInputs"], Any]
    reads: tuple = ()      # Settings fields
    needs: tuple = ()      # upstream steps
    by_value: bool = False  # a small hashable result: steps that need it are keyed on its value, not its inputs
    what: str = ""         # in words, for progress messages
    keep: int = 1          # results kept (most recent first): 2 for costly fits, so switching a control back to
                           # where it was is instant instead of a refit


class StepInputs:
    """What one step may see: its declared settings and upstream steps (evaluated on first access)."""

    def __init__(self, pipeline: "Pipeline", step: Step):
        self._pipeline, self._step = pipeline, step
        self.settings = _Declared(pipeline.settings, step.reads, step.name)
        self.shop = pipeline.shop

    def __getitem__(self, name: str):
        if name not in self._step.needs:
            raise KeyError(f"step {self._step.name!r} reads step {name!r} without declaring it in needs")
        return self._pipeline.get(name)


class _Declared:
    def __init__(self, settings: Settings, names: tuple, step: str):
        self._settings, self._names, self._step = settings, names, step

    def __getattr__(self, name: str):
        if name not in self._names:
            raise AttributeError(f"step {self._step!r} reads setting {name!r} without declaring it in reads")
        return getattr(self._settings, name)


# --- the steps --------------------------------------------------------------------------------------------------

def _as_of(i: StepInputs) -> dt.date:
    return dt.date.fromisoformat(str(i.settings.as_of)[:10]) if i.settings.as_of else i.shop.last_date()


def _customers(i: StepInputs) -> pd.DataFrame:
    return i.shop.customers(as_of=i.settings.as_of)


def _backtest_tables(i: StepInputs) -> tuple:
    """What the purchase models' backtest reads, up to the as-of date (nothing after it chooses the model): the
    calibration end, the holdout end and clv.store.Shop.backtest_tables' four tables. The only step of the comparison
    that queries the shop, so ``comparison`` may run on another thread while the shop answers other queries
    (clv.streamed)."""
    from .value import COMPARE_MAX_CUSTOMERS
    shop, as_of = i.shop, i.settings.as_of
    cal, end = shop.default_calibration_end(as_of=as_of), shop.purchase_span(as_of)[1]
    return (cal, end, *shop.backtest_tables(cal, end, COMPARE_MAX_CUSTOMERS))


def _comparison(i: StepInputs):
    """The purchase models backtested on the history up to the as-of date (no query: the tables are read before)."""
    from .value import compare_purchase_models
    cal, end, calibration, holdout, weekly, population = i["backtest_tables"]
    return compare_purchase_models(calibration, holdout, cal, end, weekly=weekly, population=population)


def _purchase_model(i: StepInputs) -> str:
    if i.settings.purchase_model != "auto":
        return i.settings.purchase_model
    try:
        return i["comparison"].best
    except ModelError:
        return "bgnbd"  # no model fits: the value model's own fit then says why in words


def _value_model(i: StepInputs):
    from .value import fit_value_model
    return fit_value_model(i["customers"], months=i.settings.tabulate_months, model=i["purchase_model"])


def _priced(i: StepInputs) -> pd.DataFrame:
    from .value import price
    s = i.settings
    return price(i["value_model"], s.horizon_months, s.margin, s.discount_rate)


def _shop_intervals(i: StepInputs) -> dict:
    """80/95 % intervals on the shop's purchases and revenue over the horizon (clv.uncertainty), widened to the
    backtest's miss when the model missed beyond its own interval there (only when the model is chosen by backtest:
    a model fixed by the caller does not pay for the comparison)."""
    from .uncertainty import calibrate, total_interval
    from .value import MONTH_DAYS
    vm, months = i["value_model"], i.settings.horizon_months
    expected = vm.if_alive_by_month[:, months - 1][vm.pair_of] * vm.p_alive  # as priced: the fit's own table
    out = total_interval(vm.purchases, vm.spend, i["customers"], months * MONTH_DAYS, p_alive=vm.p_alive,
                         expected=expected, value=vm.expected_average_value)
    if i.settings.purchase_model == "auto":
        try:
            bt = i["comparison"].backtests.get(i["purchase_model"])
        except ModelError:
            bt = None
        if bt is not None and bt.interval is not None:
            actual = bt.totals["actual_repeat_purchases"]
            out = {k: calibrate(v, bt.interval, actual) for k, v in out.items()}
    return out


def _gaps(i: StepInputs) -> tuple:
    """Runs of calendar months without a purchase up to the as-of date (clv.readiness.trading_gaps) — a query over
    every order, so a one-shot run asks for it before it moves the orders out of memory (clv.scoring.score_table)."""
    from .readiness import trading_gaps
    return tuple(trading_gaps(i.shop.purchase_months(i.settings.as_of)))


def _readiness(i: StepInputs):
    """Whether the data supports projections (clv.readiness): the rules, on the customers, the months without
    orders and the projected total's uncertainty — or the purchase model's failure."""
    from .readiness import assess
    try:
        sd = i["shop_intervals"]["purchases"].relative_sd.get("parameters")
        problem = None
    except ModelError as exc:
        sd, problem = None, str(exc)
    return assess(i["customers"], None, sd, problem, gaps=list(i["gaps"]))


def _quantiles(i: StepInputs) -> dict:
    """Each customer's purchase quantiles over the horizon (clv.uncertainty.customer_quantiles)."""
    from .uncertainty import customer_quantiles
    from .value import MONTH_DAYS
    vm = i["value_model"]
    return customer_quantiles(vm.purchases, i["customers"], i.settings.horizon_months * MONTH_DAYS, vm.p_alive)


def _clusters(i: StepInputs):
    from .segments import fit_clusters
    return fit_clusters(i["customers"], k=i.settings.k, feature_set=i.settings.cluster_features)


def segment_params(s: Settings) -> "SegmentParams":
    from .segments import SegmentParams
    return SegmentParams(first_time_days=s.first_time_days, big_spender_top_pct=s.big_spender_top_pct,
                         high_aov_pct=s.high_aov_pct, discount_share_min=s.discount_share_min,
                         cart_days=s.cart_days, vip_tenure_months=s.vip_tenure_months)


def _segments(i: StepInputs) -> pd.DataFrame:
    from .segments import segment_table
    s = i.settings
    cuts = dict(recency_cuts=s.recency_cuts, frequency_cuts=s.frequency_cuts, monetary_cuts=s.monetary_cuts)
    return segment_table(i["customers"], i["clusters"], segment_params(s), s.rfm_method, cuts)


@dataclass(frozen=True)
class ChurnChoice:
    """The interaction-aware churn model, or why there is none (``error``: a ModelError's words)."""
    model: Any = None
    error: str | None = None


def _churn_model(i: StepInputs) -> ChurnChoice:
    from .churn import churn_history, fit_churn
    mode = i.settings.churn_model
    if mode == "palive" or (mode == "auto" and i.shop.interactions_report is None):
        return ChurnChoice()
    try:
        return ChurnChoice(fit_churn(churn_history(i.shop, i["as_of"], i.settings.churn_window_days),
                                     model=i["purchase_model"]))
    except ModelError as exc:  # the app says why beside the purchase model's risk; score --churn-model model exits
        return ChurnChoice(error=str(exc))


def _churn_risk(i: StepInputs) -> pd.DataFrame:
    from .scoring import churn_columns
    return churn_columns(i["customers"], i["value_model"], i["churn_model"].model, i["as_of"],
                         i.settings.churn_window_days)


def _churn_bands(i: StepInputs):
    """The risk bands checked on the shop's own backtest (clv.churn.backtest_bands), or None when there is no
    backtest of the purchase model in use or fewer than the window's days after its cut-off."""
    from .churn import backtest_bands
    try:
        bt = i["comparison"].backtests.get(i["purchase_model"])
    except ModelError:
        return None
    if bt is None:
        return None
    window = i.settings.churn_window_days
    cal, last = bt.calibration_end, bt.holdout_end  # the comparison's span: up to the as-of date
    if (last - cal).days < window:
        return None
    end = cal + dt.timedelta(days=window)
    return backtest_bands(bt.model.purchases, i.shop.customers(calibration_end=cal), i.shop.holdout(cal, end), window)


def _reasons(i: StepInputs) -> pd.Series:
    from .churn import reason_in_words
    return reason_in_words(i["customers"])


def _scored(i: StepInputs) -> pd.DataFrame:
    from .scoring import combine
    table = combine(i["customers"], i["segments"], i["priced"], i["churn_risk"], i["reasons"], i["as_of"],
                    i["quantiles"])
    cm = i["churn_model"].model
    if cm is not None:
        table.attrs["churn_model_why"] = cm.why  # which churn risk is used and why, in words (the CLI prints it)
    return table


def _tactic_features(i: StepInputs) -> pd.DataFrame:
    from .tactics import tactic_features
    return tactic_features(i["scored"])


STEPS: dict[str, Step] = {s.name: s for s in [
    Step("as_of", _as_of, reads=("as_of",), by_value=True),
    Step("customers", _customers, reads=("as_of",), what="Building the customer table…"),
    Step("backtest_tables", _backtest_tables, reads=("as_of",), what="Reading your history for the backtest…"),
    Step("comparison", _comparison, needs=("backtest_tables",),
         what="Backtesting the purchase models on your history…"),
    Step("purchase_model", _purchase_model, reads=("purchase_model",), needs=("comparison",), by_value=True),
    Step("value_model", _value_model, reads=("tabulate_months",), needs=("customers", "purchase_model"),
         what="Fitting the purchase and spend models…", keep=2),
    Step("priced", _priced, reads=("horizon_months", "margin", "discount_rate"), needs=("value_model",)),
    Step("shop_intervals", _shop_intervals, reads=("horizon_months", "purchase_model"),
         needs=("customers", "value_model", "comparison", "purchase_model"), what="Working out how sure the projection is…"),
    Step("gaps", _gaps, reads=("as_of",), by_value=True),
    Step("readiness", _readiness, needs=("customers", "shop_intervals", "gaps")),
    Step("quantiles", _quantiles, reads=("horizon_months",), needs=("customers", "value_model")),
    Step("clusters", _clusters, reads=("k", "cluster_features"), needs=("customers",), what="Finding clusters…",
         keep=2),
    Step("segments", _segments, reads=("rfm_method", "recency_cuts", "frequency_cuts", "monetary_cuts",
                                       "first_time_days", "big_spender_top_pct", "high_aov_pct", "discount_share_min",
                                       "cart_days", "vip_tenure_months"), needs=("customers", "clusters")),
    Step("churn_model", _churn_model, reads=("churn_model", "churn_window_days"),
         needs=("as_of", "purchase_model"), what="Training the churn model on your history…", keep=2),
    Step("churn_risk", _churn_risk, reads=("churn_window_days",),
         needs=("customers", "value_model", "churn_model", "as_of")),
    Step("churn_bands", _churn_bands, reads=("churn_window_days",), needs=("comparison", "purchase_model"),
         what="Checking the risk bands on your history…"),
    Step("reasons", _reasons, needs=("customers",)),
    Step("scored", _scored, needs=("customers", "segments", "priced", "churn_risk", "reasons", "churn_model", "as_of",
                                   "quantiles")),
    Step("tactic_features", _tactic_features, needs=("scored",)),
]}


def steps_reading(setting: str) -> set[str]:
    """Every step that runs again when ``setting`` changes: those that read it and everything downstream."""
    out = {name for name, step in STEPS.items() if setting in step.reads}
    grew = True
    while grew:
        more = {name for name, step in STEPS.items() if out & set(step.needs)} - out
        out |= more
        grew = bool(more)
    return out


class Pipeline:
    """One evaluation of ``STEPS`` on ``shop`` with ``settings``.

    ``cache``: name -> [(key, value), …], the latest results of each step (``Step.keep`` of them) (a dict the caller keeps between evaluations:
    the app's session memo, or a fresh one). ``version``: changes when the shop's data do (part of every key).
    ``on_step(name, seconds)``: called after a step ran (counters in tests, timings in benches). ``progress(what)``:
    a context manager shown while a slow step runs (the app's spinner)."""

    def __init__(self, shop, settings: Settings = Settings(), cache: dict | None = None, version: Any = 0,
                 on_step: Callable[[str, float], None] | None = None, progress=None):
        self.shop, self.settings, self.version = shop, settings, version
        self.cache = {} if cache is None else cache
        self.on_step, self.progress = on_step, progress
        self._keys: dict[str, tuple] = {}

    def with_settings(self, **changes) -> "Pipeline":
        return Pipeline(self.shop, dataclasses.replace(self.settings, **changes), self.cache, self.version,
                        self.on_step, self.progress)

    def key(self, name: str) -> tuple:
        """What ``name``'s result depends on: the data version, its settings' values, its upstream steps' keys (or
        values, for small results)."""
        if name not in self._keys:
            step = STEPS[name]
            upstream = tuple((n, ("=", self.get(n)) if STEPS[n].by_value else self.key(n)) for n in step.needs)
            self._keys[name] = (self.version, tuple(getattr(self.settings, r) for r in step.reads), upstream)
        return self._keys[name]

    def get(self, name: str):
        key = self.key(name)
        kept = [entry for entry in self.cache.get(name, []) if entry[0][0] == self.version]  # another data set's: gone
        for i, (k, value) in enumerate(kept):
            if k == key:
                if i:  # most recent first
                    self.cache[name] = [kept[i]] + kept[:i] + kept[i + 1:]
                return value
        step = STEPS[name]
        started = time.perf_counter()
        if step.what and self.progress is not None:
            with self.progress(step.what):
                value = step.run(StepInputs(self, step))
        else:
            value = step.run(StepInputs(self, step))
        self.cache[name] = [(key, value)] + kept[:step.keep - 1]
        if self.on_step is not None:
            self.on_step(name, time.perf_counter() - started)
        return value
