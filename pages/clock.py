"""Clock reader: upload a photo of an analogue clock, get the time."""

import streamlit as st

st.title("Clock reader")
st.info("The clock reader is being built.")
