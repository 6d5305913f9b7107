"""Keeps every page inside app.py's navigation frame (a workaround for a Streamlit behaviour; see require_frame)."""

import streamlit as st

_frame_checked = False


def require_frame() -> None:
    """Makes sure a page runs inside app.py's navigation frame; call it first in every page.

    Streamlit quirk: with a pages/ folder beside app.py, the first request a fresh server gets,
    if it is a deep link (e.g. /explore), runs that page alone, the old pages-folder way, and
    the server stays in that mode until someone opens "/". Leaving that mode and rerunning
    makes Streamlit run app.py, whose st.navigation then opens the page asked for. Once per
    process is enough (and AppTest, which re-enters that mode on every run, keeps its clicks).
    """
    global _frame_checked
    if _frame_checked:
        return
    _frame_checked = True
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without this quirk
        return
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.rerun()
