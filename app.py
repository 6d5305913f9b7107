"""genlab's Streamlit app: the frame that navigates between the pages in pages/."""

import streamlit as st

st.set_page_config(page_title="genlab", page_icon="🧊", layout="wide")

navigation = st.navigation(
    [
        st.Page("pages/home.py", title="Home", icon="🏠", default=True),
    ]
)
navigation.run()
