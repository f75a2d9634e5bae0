"""The page registry (ui/pages.py) is the app: every file in pages/ is registered, every registered page exists,
and its address is the one Streamlit serves it at."""
from conftest import ROOT

from ui.pages import PAGES


def test_the_registry_and_the_pages_folder_agree():
    files = {"app.py"} | {f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py")}
    assert {p.script for p in PAGES} == files
    assert len({p.label for p in PAGES}) == len(PAGES) and len({p.url_path for p in PAGES}) == len(PAGES)
    assert [p.url_path for p in PAGES][:4] == ["", "Data", "Segments", "Customer_value"]
