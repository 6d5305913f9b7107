"""Home: what genlab is."""

import streamlit as st

st.title("genlab")
st.write("An interactive lab for generative models of 3D voxel digits.")
