"""The one Streamlit internal genlab relies on (genlab.app.frame): these fail if Streamlit changes it."""

import inspect

import pytest
import streamlit as st
from streamlit.commands import navigation
from streamlit.runtime.pages_manager import PagesManager

from genlab.app import frame


@pytest.fixture
def pages_flag():
    """Restores PagesManager.uses_pages_directory and require_frame's once-per-process mark after a test."""
    saved = PagesManager.uses_pages_directory, frame._frame_checked
    yield
    PagesManager.uses_pages_directory, frame._frame_checked = saved


def test_a_pages_folder_beside_the_main_script_turns_on_the_pages_folder_mode(tmp_path, pages_flag):
    (tmp_path / "pages").mkdir()
    (tmp_path / "app.py").write_text("")
    PagesManager.uses_pages_directory = None
    PagesManager(str(tmp_path / "app.py"))
    assert PagesManager.uses_pages_directory is True


def test_st_navigation_is_what_turns_the_mode_off():
    assert "PagesManager.uses_pages_directory = False" in inspect.getsource(navigation.navigation)


def test_require_frame_leaves_the_mode_and_reruns_once(monkeypatch, pages_flag):
    reruns = []
    monkeypatch.setattr(st, "rerun", lambda: reruns.append(1))
    PagesManager.uses_pages_directory, frame._frame_checked = True, False
    frame.require_frame()
    assert PagesManager.uses_pages_directory is False and reruns == [1]
    PagesManager.uses_pages_directory = True
    frame.require_frame()  # once per process
    assert reruns == [1]
