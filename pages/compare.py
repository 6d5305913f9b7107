"""Compare: the evaluation of the twelve models, beside the paper's published numbers."""

import plotly.express as px
import streamlit as st

from genlab import names
from genlab.app import frame, tables
from genlab.eval.report import log_ticks

frame.require_frame()

st.title("Compare")
st.markdown("Test-set figures of every kind × backbone, with the paper's (Bonfim et al., 2022) "
            "beside ours. Lower BCE, MSE and FD are better; higher IoU, precision and recall are better. "
            "FD, precision and recall judge samples drawn as `model.sample()` draws them (how many: below the "
            "findings), against real test digits with the training mix of canonical and rotated ones "
            "(*Samples from* names the sampler: "
            + "; ".join(f"`{key}`, {words}" for key, words in names.LATENT_SOURCES.items())
            + "). Every column: the FD of the model's reconstructions of those test digits (*Recon fd*) and the "
            "ratio of the two, and the same for its reconstructions of training digits (*Train recon fd*, *Fd ratio "
            "train*): a fairer bar for samples, since reconstructions of the very digits they are judged against "
            "score lower than any other digits can.")

choices = tables.test_digit_choices()
test_digits = st.radio("Test digits", choices, horizontal=True, key="compare_test_digits",
                       format_func=lambda key: tables.TEST_DIGITS[key][1]) if len(choices) > 1 else "standard"
try:
    results = tables.evaluation(test_digits)
except ValueError as error:
    st.error(f"The shipped evaluation cannot be read: {error}")
    results = None

if results is None:
    st.info("No evaluation yet: `results/evaluation.json` is not here. Run "
            "`python -m genlab evaluate` to make one. Meanwhile, the paper's numbers:")
    table = tables.paper_table()
else:
    table = tables.comparison_table(results)
    warning = tables.earlier_split_warning(results)
    if warning and test_digits == "standard":
        st.warning(warning + (" The unseen digits above judge them fairly." if len(choices) > 1 else ""))
    from genlab.eval.report import findings

    with st.container(border=True):
        st.markdown("**Findings**\n\n" + "\n".join(f"- {line}" for line in findings(results)))
    from genlab.eval.report import gan_games

    played = gan_games(results)
    if played:
        st.caption(played)
    from genlab.eval.report import curve_note, draw_words, draws_note

    st.caption(f"Samples: {draw_words(results['config'])}. {draws_note(results['config'])}{curve_note(results)}")

a, c = st.columns(2)
b = st.container()   # the backbones' filter on a row of its own: no chip is cut off
kinds = list(dict.fromkeys(table["kind"]))
backbones = list(dict.fromkeys(table["backbone"]))
picked_kinds = a.multiselect("Kinds", kinds, default=kinds, format_func=names.kind_title,
                             key="compare_kinds")
picked_backbones = b.multiselect("Backbones", backbones, default=backbones,
                                 format_func=names.backbone_title, key="compare_backbones")
metric = c.radio("Metric beside the paper", ["bce", "mse"], horizontal=True, format_func=str.upper,
                 key="compare_metric")
shown = table[table["kind"].isin(picked_kinds) & table["backbone"].isin(picked_backbones)]
if shown.empty:
    st.warning("Nothing matches those filters.")
    st.stop()

versus = tables.versus_paper(shown, metric)
versus = versus.assign(kind=versus["kind"].map(names.kind_title),
                       backbone=versus["backbone"].map(names.backbone_title))
chart = px.bar(versus, x="backbone", y="value", color="source", barmode="group", facet_col="kind",
               log_y=True, labels={"value": f"test {metric.upper()} (log scale)", "backbone": ""},
               color_discrete_map={"genlab": "#1f77b4", "paper": "#bbbbbb"})
ticks = log_ticks(versus["value"].min(), versus["value"].max())
chart.update_yaxes(tickvals=ticks, ticktext=[f"{t:g}" for t in ticks])   # every tick labelled
chart.update_layout(height=380, margin=dict(l=10, r=10, t=30, b=10), legend_title_text="")
chart.for_each_annotation(lambda note: note.update(text=note.text.split("=")[-1]))  # "kind=AE" -> "AE"
st.plotly_chart(chart, key="compare_chart")

everything = st.toggle("Show every column", key="compare_all_columns")
columns = list(shown.columns) if everything else [c for c in tables.HEADLINE_COLUMNS if c in shown]
readable = tables.readable_table(shown[columns])
formats = {tables.column_heading(key): st.column_config.NumberColumn(format=number_format)
           for key, (_, number_format) in tables.HEADLINE_COLUMNS.items() if number_format and key in columns}
st.dataframe(readable, hide_index=True, width="stretch", column_config=formats,
             height=35 * (len(readable) + 1) + 3)   # every row, no inner scrolling
st.download_button("Download CSV", shown.to_csv(index=False).encode(), "genlab-comparison.csv",
                   "text/csv", key="download_csv")

if results is not None:
    from genlab.eval.report import figures

    charts = figures(results)
    cost, digits = st.tabs(["Quality vs cost", "Per digit"])
    cost.plotly_chart(charts["quality_vs_cost"], key="quality_vs_cost")
    digits.plotly_chart(charts["per_digit"], key="per_digit")
