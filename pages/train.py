"""Train: pick a model and hyper-parameters, train it in the background with live curves, Cancel."""

import streamlit as st

from genlab import appstate, jobs
from genlab.models import BACKBONES, KINDS
from genlab.viz import loss_figure

appstate.require_frame()

st.title("Train")
owner = appstate.owner_id()
choice = appstate.dataset_choice()
my_jobs = jobs.jobs_for(owner)
current = my_jobs[0] if my_jobs else None


def start_training(request: dict) -> None:
    """Starts a training job for this user; errors go to the page."""
    try:
        dataset = appstate.load_dataset(choice)
        work = jobs.training_work(dataset=dataset, runs_dir=appstate.runs_dir(), **request)
        label = f"{request['kind']}/{request['backbone']}"
        jobs.start_job(owner, label, work)
    except (jobs.JobError, ValueError, FileNotFoundError, OSError) as error:
        st.session_state.train_error = str(error)


with st.form("train_form", border=True):
    st.markdown(f"Trains on **{appstate.dataset_title(choice)}** (change it on the Data page). "
                "Training runs in the background: switch pages freely and come back.")
    a, b, c, d = st.columns(4)
    kind = a.selectbox("Kind", KINDS, format_func=str.upper, key="train_kind")
    backbone = b.selectbox("Backbone", BACKBONES,
                           format_func=appstate.backbone_title, key="train_backbone")
    latent_dim = c.select_slider("Latent dimensions", [2, 4, 8, 16, 32, 64], value=16, key="train_latent")
    beta = d.select_slider("β (VAE)", [0.1, 0.25, 0.5, 1.0, 2.0, 4.0], value=1.0, key="train_beta",
                           help="Weight of the KL term; only a VAE has one")
    a, b, c, d = st.columns(4)
    epochs = a.number_input("Epochs", 1, 200, 3, key="train_epochs")
    batch_size = b.select_slider("Batch size", [16, 32, 64, 128, 256], value=64, key="train_batch")
    lr = c.select_slider("Learning rate", [1e-4, 3e-4, 1e-3, 3e-3, 1e-2], value=1e-3,
                         format_func=lambda v: f"{v:g}", key="train_lr")
    max_train = d.number_input("Training digits (0 = all)", 0, 1_000_000, 2000, step=500,
                               help="A subset trains faster on a CPU; 0 uses the whole training split.",
                               key="train_digits")
    running = current is not None and current.running
    submitted = st.form_submit_button("Start training", type="primary", disabled=running)

if submitted and not running:
    options = {"beta": beta} if kind == "vae" else {}
    start_training({"kind": kind, "backbone": backbone, "latent_dim": latent_dim,
                    "epochs": int(epochs), "batch_size": batch_size, "lr": lr,
                    "max_train": int(max_train) or None, **options})
    st.rerun()

if "train_error" in st.session_state:
    st.error(st.session_state.pop("train_error"))


def show_job(job: jobs.Job) -> None:
    """Draws a job's progress: bar, figures, curves; Cancel while it runs."""
    state = job.snapshot()
    log = state["log"]
    last = log[-1] if log else {}
    st.subheader(f"Run: {state['label']}")
    text = f"{state['fraction']:.0%}"
    if last:
        text += f" · epoch {last['epoch']}/{last['epochs']} · step {last['done']:,}/{last['total']:,}"
    st.progress(state["fraction"], text=text)
    a, b, c, d = st.columns(4)
    a.metric("Loss", f"{last['losses']['loss']:.4f}" if last else "–")
    b.metric("Samples/s", f"{last['samples_per_s']:,.0f}" if last else "–")
    eta = state["eta_s"]
    c.metric("ETA", "–" if eta is None else f"{eta:,.0f} s")
    d.metric("Elapsed", f"{state['elapsed_s']:,.0f} s")
    if log:
        st.plotly_chart(loss_figure(log), key=f"losses_{state['id']}")
    if state["status"] == jobs.RUNNING:
        if state["cancelling"]:
            st.info("Cancelling after the current step…")
        else:  # a callback: it runs first thing on the click, even if a poll was under way
            st.button("Cancel", key=f"cancel_{state['id']}", on_click=job.cancel)
    elif state["status"] == jobs.DONE:
        st.success(f"Finished. Checkpoint saved as `{state['result']['checkpoint']}`; it is "
                   "available on the Latent explorer and Home pages now.")
    elif state["status"] == jobs.CANCELLED:
        saved = (state["result"] or {}).get("checkpoint")
        st.warning("Training was cancelled. " + (f"The last good checkpoint is kept: `{saved}`."
                                                 if saved else "No checkpoint was saved."))
    else:
        st.error(f"Training stopped: {state['error']}")


if current is not None:
    if current.running:
        @st.fragment(run_every=1.0)
        def live():
            show_job(current)
            if not current.running:
                st.rerun()   # redraw the whole page once: the form unlocks, polling stops

        live()
    else:
        show_job(current)

if len(my_jobs) > 1:
    with st.expander(f"Earlier runs in this session ({len(my_jobs) - 1})"):
        for job in my_jobs[1:]:
            state = job.snapshot()
            outcome = state["error"] or (state["result"] or {}).get("checkpoint") or "no checkpoint"
            st.write(f"**{state['label']}** · {state['status']} · {outcome}")
