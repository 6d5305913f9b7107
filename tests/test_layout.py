"""The package's layering (streamlit only in the app package's Streamlit-bound modules) and the app's source rules."""

import ast
import subprocess
import sys

import pytest

from genlab import paths

PACKAGE = paths.REPO_ROOT / "genlab"
STREAMLIT_MODULES = {"genlab/app/state.py", "genlab/app/frame.py", "genlab/app/live_view.py"}


def imported_modules(path) -> set[str]:
    """Returns the top-level names of every module a Python file imports (at any depth of its code)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


def test_only_the_app_packages_streamlit_modules_import_streamlit():
    sources = sorted(PACKAGE.rglob("*.py"))
    assert len(sources) > 50  # the scan sees the package
    importers = {str(p.relative_to(paths.REPO_ROOT)) for p in sources if "streamlit" in imported_modules(p)}
    assert importers == STREAMLIT_MODULES


def test_the_scan_catches_an_import_inside_a_function(tmp_path):
    hidden = tmp_path / "hidden.py"
    hidden.write_text("def f():\n    from streamlit.runtime import pages_manager\n")
    assert "streamlit" in imported_modules(hidden)


@pytest.mark.parametrize("module", ["genlab.app.files", "genlab.app.catalogue", "genlab.app.tables",
                                    "genlab.app.server", "genlab.app.jobs", "genlab.app.explore"])
def test_the_pure_app_modules_load_without_streamlit(module):
    run = subprocess.run([sys.executable, "-c", f"import sys, {module}; print('streamlit' in sys.modules)"],
                         capture_output=True, text=True, cwd=paths.REPO_ROOT, timeout=120)
    assert run.stdout.strip() == "False", run.stderr


def magic_expressions(path) -> list[int]:
    """Returns the lines of a script's statements that Streamlit's magic would show (a bare value such as
    `x` or `df.head`; calls and docstring-like strings are never shown)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    shown = (ast.Call, ast.Await, ast.Yield, ast.YieldFrom)
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Expr) and not isinstance(node.value, shown)
            and not (isinstance(node.value, ast.Constant) and isinstance(node.value.value, str))]


def test_no_page_relies_on_streamlit_magic_which_the_app_turns_off(tmp_path):
    config = (paths.REPO_ROOT / ".streamlit" / "config.toml").read_text()
    assert "magicEnabled = false" in config
    scripts = [paths.REPO_ROOT / "app.py", *sorted((paths.REPO_ROOT / "pages").glob("*.py"))]
    assert len(scripts) >= 7
    assert {str(s.relative_to(paths.REPO_ROOT)): lines for s in scripts if (lines := magic_expressions(s))} == {}
    example = tmp_path / "page.py"
    example.write_text('"""A page."""\nimport streamlit as st\nvalue = 3\nvalue\nst.write(value)\n"""text"""\n')
    assert magic_expressions(example) == [4]      # the bare name; not the call, not the strings
