import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

# the property tests draw the same examples on every run (a red CI lands nothing, and a failure must replay);
# CLV_PROPERTY_RANDOM=1 explores new examples, as a local hunt for bugs
settings.register_profile("replayable", derandomize=True, database=None)
settings.load_profile("default" if os.environ.get("CLV_PROPERTY_RANDOM") else "replayable")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# uploaded shops go to a throw-away workspace root, never to the user's own (~/.local/share/clv/workspaces);
# the browser tests' servers inherit it; removed when this process ends (each run left three behind)
os.environ["CLV_WORKSPACES"] = tempfile.mkdtemp(prefix="clv-test-workspaces-")
atexit.register(shutil.rmtree, os.environ["CLV_WORKSPACES"], ignore_errors=True)


#: the longest files, started first: the suite runs on two workers (pytest.ini: -n 2 --dist loadfile, one file per
#: worker at a time), and a long file scheduled last leaves the other worker idle at the end
FIRST = ("test_spark.py", "test_browser.py")


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: next((i for i, name in enumerate(FIRST) if item.path.name == name), len(FIRST)))


def shop_of(folder: Path, csv_text: str):
    """A Shop loaded from a small orders CSV written into ``folder`` (the hand-checkable shops of the tests)."""
    from clv.store import Shop
    path = folder / "orders.csv"
    path.write_text(csv_text)
    shop = Shop()
    shop.load_orders(path)
    return shop


def gamma_pdf(x, shape, rate):
    """Gamma density written out (scipy.stats' pdf per point makes the models' double integrals 20 times slower)."""
    from scipy import special
    return np.exp((shape - 1) * np.log(x) - rate * x + shape * np.log(rate) - special.gammaln(shape))


def beta_pdf(x, a, b):
    from scipy import special
    return np.exp((a - 1) * np.log(x) + (b - 1) * np.log1p(-x) - special.betaln(a, b))


@pytest.fixture
def write(tmp_path):
    """Write text (or bytes) to a file in tmp_path and return its path."""
    def _write(name: str, content, encoding: str = "utf-8") -> Path:
        p = tmp_path / name
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_bytes(content.encode(encoding))
        return p
    return _write


@pytest.fixture(scope="session")
def sample_shop():
    from clv.store import Shop
    return Shop.sample()


#: how long an AppTest run may take before it counts as hung: a guard, not a speed test (a page's first run fits the
#: models: 35 s measured for the churn model alone while the other core ran a benchmark; bench/ measures speed)
APP_TIMEOUT = 300


def open_app(page: str | None = None):
    """An AppTest session that ran ``page`` (e.g. pages/2_Segments.py), or the landing page."""
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=APP_TIMEOUT)
    if page:  # straight to the page: running the Overview first would fit every model for nothing
        at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def amount(text: str) -> float:
    """The number in a money figure as the pages write it ("$1,234", "−€12.00", "1,234 CHF")."""
    import re
    number = re.sub(r"[^0-9.]", "", text)
    return -float(number) if text.strip().startswith(("−", "-")) else float(number)


def metric(at, label: str) -> str:
    """The value of the first metric whose label starts with ``label``."""
    return next(m.value for m in at.metric if m.label.startswith(label))
