"""Segments page: every control changes what the page shows; none re-reads data, thresholds never refit."""
import pytest
from conftest import open_app

from test_pipeline import CLUSTERING, CONTROLS as SIDEBAR_CONTROLS, SEGMENTING
from ui.model import runs


@pytest.fixture(scope="module")
def page():
    return open_app("pages/2_Segments.py")


def shown(at):
    """Everything the page shows that a control could change: captions, tables and chart data."""
    tables = [df.value.to_csv() if hasattr(df.value, "to_csv") else str(df.value) for df in at.dataframe]
    charts = [c.proto.spec for c in at.get("plotly_chart")]
    return [c.value for c in at.caption], tables, charts


# (widget kind, key, new value, refits clusters?): the sidebar's segment and cluster controls (tests/test_pipeline.py
# checks exactly which steps each re-runs) and the page's own controls
CONTROLS = [(kind, key, value, expected == CLUSTERING) for kind, key, value, expected in SIDEBAR_CONTROLS
            if expected in (SEGMENTING, CLUSTERING)] + [
    ("text_input", "frequency_cuts", "1, 3, 6, 10", False),
    ("text_input", "monetary_cuts", "20, 60, 150, 300", False),
    ("radio", "grid_metric", "revenue", False),
    ("selectbox", "segment_filter", "RFM: Champions", False),
    ("slider", "k", 5, True),
]


def test_every_control_changes_the_page_without_reloading_data(page):
    at = page
    loads = runs(at.session_state, "customers")
    for kind, key, value, refits in CONTROLS:
        before = shown(at)
        fits = runs(at.session_state, "clusters")
        getattr(at, kind)(key=key).set_value(value).run()
        assert not at.exception, key
        assert shown(at) != before, f"{key} changed nothing on the page"
        assert runs(at.session_state, "customers") == loads, f"{key} re-read the data"
        fits_after = runs(at.session_state, "clusters")
        assert (fits_after > fits) == refits, f"{key}: cluster refit {'expected' if refits else 'not expected'}"
