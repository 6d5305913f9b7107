"""genlab's Streamlit app: the frame that navigates between the pages in pages/.

    streamlit run app.py
"""

import streamlit as st

st.set_page_config(page_title="genlab", page_icon="🧊", layout="wide")

navigation = st.navigation(
    {
        "genlab": [
            st.Page("pages/home.py", title="Home", icon="🏠", default=True),
            st.Page("pages/data.py", title="Data", icon="🧊"),
            st.Page("pages/train.py", title="Train", icon="🏋️"),
            st.Page("pages/explore.py", title="Latent explorer", icon="🎛️"),
            st.Page("pages/compare.py", title="Compare", icon="📊"),
        ],
        "Tools": [
            st.Page("pages/clock.py", title="Clock reader", icon="🕒"),
        ],
    }
)
navigation.run()
