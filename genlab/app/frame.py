"""Keeps every page inside app.py's navigation frame: genlab's one workaround of a Streamlit internal.

Upstream behaviour (Streamlit's multipage "v1" mode, streamlit/runtime/pages_manager.py and
runtime/scriptrunner/script_runner.py): the first PagesManager of a server process sets the class
attribute `PagesManager.uses_pages_directory` to whether a pages/ folder lies beside the main
script, and while it is True the script runner runs a requested page file alone instead of app.py;
only `st.navigation` sets it back to False. genlab keeps its pages in pages/ (a deep link such as
/explore is part of the app's promise), so the first request of a fresh server, if it is a deep
link, would run that page without app.py's frame. Streamlit offers no public switch for this;
tests/test_frame.py fails if the attribute or the behaviour changes.
"""

import streamlit as st

_frame_checked = False


def require_frame() -> None:
    """Makes sure a page runs inside app.py's navigation frame; call it first in every page.

    In the pages-folder mode described above, leaving that mode and rerunning makes Streamlit
    run app.py, whose st.navigation then opens the page asked for. Once per process is enough
    (and AppTest, which re-enters that mode on every run, keeps its clicks).
    """
    global _frame_checked
    if _frame_checked:
        return
    _frame_checked = True
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
