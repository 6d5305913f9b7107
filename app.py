"""genlab's Streamlit app: the frame that navigates between the pages in pages/.

    streamlit run app.py
"""

import streamlit as st

from genlab import paths
from genlab.app import live_view, warmup

# A local image: a ":material/...:" favicon would be fetched from Google's font servers.
st.set_page_config(page_title="genlab", page_icon=str(paths.APP_ICON), layout="wide")

navigation = st.navigation(
    {
        "genlab": [
            st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
            st.Page("pages/data.py", title="Data", icon=":material/view_in_ar:"),
            st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
            st.Page("pages/explore.py", title="Latent explorer", icon=":material/tune:"),
            st.Page("pages/compare.py", title="Compare", icon=":material/leaderboard:"),
        ],
        "Tools": [
            st.Page("pages/clock.py", title="Clock reader", icon=":material/schedule:"),
        ],
    }
)
navigation.run()
# After the page is drawn, so the first page never waits for them: while the user reads, the server
# imports torch and the browser readies plotly.js and a 3D scene for the first 3D view.
warmup.start(delay=warmup.AFTER_FIRST_PAGE)
live_view.prepare()
