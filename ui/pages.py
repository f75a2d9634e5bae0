"""The app's pages, in sidebar order: the one list the sidebar, the tests and the screenshot bench read.

Streamlit's classic multipage mode finds the files in pages/ by itself (see ../shared/TESTING.md on why not
``st.navigation``); this registry gives each its label, icon and address. A new page is a file in pages/ and one
line here — ``tests/test_pages.py`` checks that both agree. No streamlit import: a bench or a test reads it as is.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Page", "PAGES", "DATA_PAGES"]


@dataclass(frozen=True)
class Page:
    script: str     # path from the project root, as st.page_link and AppTest.switch_page take it
    label: str      # the sidebar's words: the question the page answers
    icon: str
    needs_data: bool = True  # answers from the loaded shop (Open a scored table answers from its own upload)

    @property
    def url_path(self) -> str:
        """The address after the server's root ("" for the landing page), as Streamlit derives it from the file."""
        if self.script == "app.py":
            return ""
        stem = self.script.rsplit("/", 1)[-1].removesuffix(".py")
        return stem.split("_", 1)[1] if stem.split("_", 1)[0].isdigit() else stem


PAGES = [
    Page("app.py", "Overview", ":material/home:"),
    Page("pages/1_Data.py", "Your data", ":material/upload_file:"),
    Page("pages/2_Segments.py", "Who are my customers?", ":material/groups:"),
    Page("pages/3_Customer_value.py", "What is each worth?", ":material/payments:"),
    Page("pages/4_Churn_risk.py", "Who is slipping away?", ":material/trending_down:"),
    Page("pages/5_Playbook.py", "What should I do first?", ":material/checklist:"),
    Page("pages/6_Campaigns.py", "Did it work?", ":material/fact_check:"),
    Page("pages/7_LTV_cuts.py", "Who becomes valuable?", ":material/stacked_line_chart:"),
    Page("pages/8_Scored_table.py", "Open a scored table", ":material/dataset:", needs_data=False),
]

#: the pages that answer from the loaded shop, in sidebar order
DATA_PAGES = [p for p in PAGES if p.needs_data]
