"""The project's shape, checked: dependencies point one way (dashboard → training → model), tests and
benchmarks share helpers only through ``harness``, and nothing edits ``sys.path``."""

from __future__ import annotations

import ast

import pytest

from harness import ROOT

FORBIDDEN = {
    "model": {"training", "dashboard", "tests", "bench"},
    "training": {"dashboard", "tests", "bench"},
    "dashboard": {"tests", "bench"},
    "harness": {"dashboard", "training", "tests", "bench"},
    "tests": {"bench"},
    "bench": {"tests"},
}


def imported_packages(path) -> set[str]:
    """Top-level names a module imports, wherever in the file (deferred imports count too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_point_one_way(package):
    wrong = {str(path.relative_to(ROOT)): sorted(imported_packages(path) & FORBIDDEN[package])
             for path in (ROOT / package).rglob("*.py")}
    assert {path: names for path, names in wrong.items() if names} == {}


def uses_sys_path(path) -> bool:
    return any(isinstance(node, ast.Attribute) and node.attr == "path" and isinstance(node.value, ast.Name)
               and node.value.id == "sys" for node in ast.walk(ast.parse(path.read_text(), str(path))))


def test_nothing_edits_sys_path():
    sources = [p for p in ROOT.rglob("*.py") if ".venv" not in p.parts]
    assert len(sources) > 40
    assert [str(p.relative_to(ROOT)) for p in sources if uses_sys_path(p)] == []


def test_page_scripts_hold_no_bare_strings_that_streamlit_magic_would_show():
    pages = [ROOT / "dashboard" / "streamlit_app.py", *(ROOT / "dashboard" / "app_pages").glob("*.py")]
    shown = [f"{path.name}:{node.lineno}" for path in pages for node in ast.parse(path.read_text()).body[1:]
             if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
             and isinstance(node.value.value, str)]
    assert len(pages) == 6 and shown == []
