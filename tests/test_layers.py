"""Layers read downwards only: ingest → store → models → pipeline → ui → pages; no import cycle; clv never imports
streamlit, and the store knows nothing of the models."""
import ast
from pathlib import Path

from conftest import ROOT


def _imports(path: Path) -> set[str]:
    """Every module a file imports (at the top or inside functions), resolved to dotted names."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            out.add(base)
    return out


def test_clv_never_imports_streamlit_and_the_store_knows_no_model():
    for path in (ROOT / "clv").rglob("*.py"):
        assert not any(m.split(".")[0] == "streamlit" for m in _imports(path)), path
    for module in ("store", "ingest"):
        files = [ROOT / "clv" / "store.py"] if module == "store" else list((ROOT / "clv" / "ingest").rglob("*.py"))
        for path in files:
            above = {m for m in _imports(path) if m.split(".")[:2] in (["clv", "churn"], ["clv", "value"],
                                                                       ["clv", "models"], ["clv", "pipeline"],
                                                                       ["clv", "scoring"], ["clv", "tactics"])}
            assert not above, (path, above)


def test_no_import_cycle_in_ui():
    graph = {p.stem: {m.split(".")[1] for m in _imports(p) if m.startswith("ui.")} for p in (ROOT / "ui").glob("*.py")}

    def reaches(start, target, seen=()):
        return any(n == target or (n not in seen and reaches(n, target, seen + (n,))) for n in graph.get(start, ()))
    assert not [m for m in graph if reaches(m, m)], graph
