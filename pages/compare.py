"""Compare: the evaluation of the twelve models, beside the paper's published numbers."""

import pandas as pd
import plotly.express as px
import streamlit as st

from genlab import appstate

appstate.require_frame()

st.title("Compare")
st.markdown("Test-set reconstruction error of every kind × backbone. Lower is better. The paper "
            "is Bonfim et al. (2022); *ours* is genlab's shipped evaluation.")

table = appstate.comparison_table()
if table is None:
    st.info("No evaluation yet: the shipped evaluation (`results/`) is not here. "
            "Run `python -m genlab evaluate` to make one. Meanwhile, the paper's numbers:")
    table = appstate.paper_table()

kinds = sorted(table["kind"].unique())
backbones = sorted(table["backbone"].unique())
a, b, c = st.columns(3)
picked_kinds = a.multiselect("Kinds", kinds, default=kinds)
picked_backbones = b.multiselect("Backbones", backbones, default=backbones)
columns = [col for col in table.columns if col not in ("kind", "backbone")]
metric = c.selectbox("Chart", [col for col in columns if pd.api.types.is_numeric_dtype(table[col])])
shown = table[table["kind"].isin(picked_kinds) & table["backbone"].isin(picked_backbones)]

if shown.empty:
    st.warning("Nothing matches those filters.")
    st.stop()

st.dataframe(shown, hide_index=True, width="stretch")
st.download_button("Download CSV", shown.to_csv(index=False).encode(), "genlab-comparison.csv",
                   "text/csv", key="download_csv")
chart = px.bar(shown, x="backbone", y=metric, color="kind", barmode="group",
               log_y=shown[metric].max() / max(shown[metric].min(), 1e-9) > 50)
chart.update_layout(height=380, margin=dict(l=10, r=10, t=10, b=10))
st.plotly_chart(chart, key="compare_chart")
