"""genlab.app: what the Streamlit app's pages (pages/*.py, framed by app.py) share.

Pure helpers, testable with plain pytest and free of streamlit:
    files      the app's folders, the server paths a visitor may name, upload checks
    catalogue  dataset choices and titles; the checkpoints the app can load, as table rows
    tables     the Compare page's DataFrames (our evaluation beside the paper's figures)
    explore    latent-space tools of the explorer: decode, rank, interpolate, nearest digit
    jobs       background jobs (training runs) with progress, Cancel and per-user ownership
    server     the app as a running server (port, command, wait until up, stop) for e2e tests and benchmarks
Streamlit-bound (the only modules of genlab that import streamlit):
    state      one user's choices, datasets and models shared by every session, shared widgets
    frame      require_frame: keeps a deep-linked page inside app.py's navigation
    live_view  the explorer's live 3D view (a Streamlit component over genlab.viz.live's payload)
"""
