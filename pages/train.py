"""Train: pick a model and hyper-parameters, train it in the background with live curves, Cancel."""

import streamlit as st

from genlab import names
from genlab.app import catalogue, files, frame, jobs, state
from genlab.models import DEFAULT_LATENT_DIM, KIND_CLASSES, SECOND_STAGE_STEPS
from genlab.train import TrainConfig
from genlab.viz import loss_figure

frame.require_frame()

st.title("Train")
owner = state.owner_id()
choice = state.dataset_choice()
my_jobs = jobs.jobs_for(owner)
current = my_jobs[0] if my_jobs else None


def start_training(request: dict) -> None:
    """Starts a training job for this user; errors go to the page."""
    try:
        dataset = state.load_dataset(choice)
        work = jobs.training_work(dataset=dataset, runs_dir=files.runs_dir(), **request)
        label = f"{request['kind']}/{request['backbone']}"
        job = jobs.start_job(owner, label, work)
    except (jobs.JobError, ValueError, FileNotFoundError, OSError) as error:
        st.session_state.train_error = str(error)
    else:
        st.session_state.setdefault("train_settings", {})[job.id] = {
            **request,
            "dataset": catalogue.dataset_title(choice),
        }


def settings_text(settings: dict) -> str:
    """Returns a run's settings as one line."""
    parts = [
        f"{names.kind_title(settings['kind'])} · {names.backbone_title(settings['backbone'])}",
        f"latent {settings['latent_dim']}",
        f"{settings['epochs']} epoch" + ("s" if settings["epochs"] != 1 else ""),
        f"batch {settings['batch_size']}",
        f"learning rate {settings['lr']:g}",
        f"{settings['max_train']:,} training digits" if settings.get("max_train") else "all training digits",
    ]
    if settings["kind"] == "vae":
        parts += [f"β {settings['beta']:g}", f"second stage {settings['second_stage_steps']:,} steps"]
    if settings["kind"] == "gan":
        weight = settings.get("voxel_weight", 0.0)
        parts.append(f"voxel critic weight {weight:g}" if weight else "latent game only")
    return " · ".join(parts) + f" · on {settings['dataset']}"


# The form starts on the trainer's and the models' defaults (as `python -m genlab train` does), on a
# subset of the training digits: a run in the app trains on a shared CPU.
DEFAULTS = {"kind": "ae", "backbone": "fcn", "latent_dim": DEFAULT_LATENT_DIM,
            "beta": KIND_CLASSES["vae"].defaults["beta"], "epochs": TrainConfig.epochs,
            "batch_size": TrainConfig.batch_size, "lr": TrainConfig.lr, "max_train": 2000,
            "second_stage_steps": SECOND_STAGE_STEPS, "voxel_weight": KIND_CLASSES["gan"].defaults["voxel_weight"]}
VOXEL_WEIGHTS = sorted({0.0, 0.002, 0.005, 0.01, 0.02, DEFAULTS["voxel_weight"]})


def training_form() -> dict | None:
    """Draws the form (starting from the last run's settings); returns the request once submitted."""
    last = {**DEFAULTS, **st.session_state.get("train_last", {})}
    with st.form("train_form", border=True):
        st.markdown(f"Trains on **{catalogue.dataset_title(choice)}** (change it on the Data page). "
                    "Training runs in the background: switch pages freely and come back.")
        a, b, c, d = st.columns(4)
        kinds, backbones = list(names.KINDS), list(names.BACKBONES)
        kind = a.selectbox("Kind", kinds, index=kinds.index(last["kind"]), format_func=names.kind_title,
                           key="train_kind")
        backbone = b.selectbox("Backbone", backbones, index=backbones.index(last["backbone"]),
                               format_func=names.backbone_title, key="train_backbone")
        latent_dim = c.select_slider("Latent dimensions", [2, 4, 8, 16, 32, 64], value=last["latent_dim"],
                                     key="train_latent")
        max_train = d.number_input("Training digits (0 = all)", 0, 1_000_000, last["max_train"] or 0, step=500,
                                   help="A subset trains faster on a CPU; 0 uses the whole training split.",
                                   key="train_digits")
        a, b, c, d = st.columns(4)
        epochs = a.number_input("Epochs", 1, 200, last["epochs"], key="train_epochs")
        batch_size = b.select_slider("Batch size", sorted({16, 32, 64, 128, 256, DEFAULTS["batch_size"]}),
                                     value=last["batch_size"], key="train_batch")
        lr = c.select_slider("Learning rate", sorted({1e-4, 3e-4, 1e-3, 3e-3, 1e-2, DEFAULTS["lr"]}), value=last["lr"],
                             format_func=lambda v: f"{v:g}", key="train_lr")
        with d.popover("VAE options", width="stretch"):
            beta = st.select_slider("β", [0.1, 0.25, 0.5, 1.0, 2.0, 4.0], value=last["beta"], key="train_beta",
                                    help="Weight of the KL term; only a VAE has one. 1 is the textbook ELBO; the "
                                         "shipped VAEs use 0.1 (sharper digits, better samples; see the README)")
            second_stage = st.number_input(
                "Second stage (steps)", 0, 50_000, last["second_stage_steps"], step=1000, key="train_second_stage",
                help="After training, a VAE fits a small second VAE to its codes, which its samples are drawn "
                     "through (as `python -m genlab train` does). 0: none.")
        with d.popover("GAN options", width="stretch"):
            voxel_weight = st.select_slider(
                "Voxel critic weight", VOXEL_WEIGHTS, value=last["voxel_weight"], key="train_voxel_weight",
                format_func=lambda v: f"{v:g}" if v else "0 (latent game only)",
                help="Above 0, a 3D convolutional critic also judges decoded digits against real ones and "
                     "fine-tunes the decoder (the shipped GANs: 0.005, after the latent game). About 8 times "
                     "slower per step on a CPU. 0: the game is played on latent codes only.")
        submitted = st.form_submit_button("Start training", type="primary")
    if not submitted:
        return None
    options = {"vae": {"beta": beta, "second_stage_steps": int(second_stage)},
               "gan": {"voxel_weight": voxel_weight}}.get(kind, {})
    return {"kind": kind, "backbone": backbone, "latent_dim": latent_dim, "epochs": int(epochs),
            "batch_size": batch_size, "lr": lr, "max_train": int(max_train) or None, **options}


if current is not None and current.running:   # the run's own settings, not the form's defaults beside them
    settings = st.session_state.get("train_settings", {}).get(current.id)
    st.info("A run is in progress" + (f": {settings_text(settings)}" if settings else "") +
            ". It runs in the background: switch pages freely and come back. "
            "The form returns when it has finished or is cancelled.")
else:
    request = training_form()
    if request is not None:
        st.session_state.train_last = request
        start_training(request)
        st.rerun()

if "train_error" in st.session_state:
    st.error(st.session_state.pop("train_error"))


# How often a running job's progress and curves are redrawn. Each redraw costs the server and the
# browser CPU the run would use (Streamlit draws the loss chart anew each time): with one core busy
# elsewhere, a run from this page got 57% of the CLI's samples/s at 2 s, 79% at 5 s, and 87% at 5 s
# once the server no longer collected garbage after every rerun (benchmarks/bench_app_train.py
# --digits 20000; README).
LIVE_REDRAW_S = 5.0


def show_job(job: jobs.Job) -> None:
    """Draws a job's progress: bar, figures, curves; Cancel while it runs; test metrics once finished."""
    state = job.snapshot()
    log = state["log"]
    training = [entry for entry in log if "phase" not in entry]
    last = training[-1] if training else {}
    phase = log[-1] if log and "phase" in log[-1] and state["status"] == jobs.RUNNING else None
    st.subheader(f"Run: {state['label']}")
    if phase is not None:   # after training: the same finishing steps as a CLI run
        text = {"samplers": "Training done · fitting the code samplers (per-digit mixtures, and how faithfully "
                            "each of their parts decodes)",
                "second stage": "Training done · fitting the VAE's second stage (its samples can be drawn through "
                                f"it): step {phase['done']:,}/{phase['total']:,}"
                }.get(phase["phase"], "Training done · measuring the test digits' reconstruction")
        st.progress(phase["done"] / phase["total"], text=text)
    else:
        text = f"{state['fraction']:.0%}"
        if last:
            text += f" · epoch {last['epoch']}/{last['epochs']} · step {last['done']:,}/{last['total']:,}"
        st.progress(state["fraction"], text=text)
    a, b, c, d = st.columns(4)
    a.metric("Loss", f"{last['losses']['loss']:.4f}" if last else "–")
    b.metric("Samples/s", f"{last['samples_per_s']:,.0f}" if last else "–")
    eta = None if phase is not None else state["eta_s"]
    c.metric("ETA", "–" if eta is None else f"{eta:,.0f} s")
    d.metric("Elapsed", f"{state['elapsed_s']:,.0f} s")
    if training:
        st.plotly_chart(loss_figure(training), key=f"losses_{state['id']}")
    result = state["result"] or {}
    if state["status"] == jobs.RUNNING:
        if state["cancelling"]:
            st.info("Cancelling after the current step…")
        else:  # a callback: it runs first thing on the click, even if a poll was under way
            st.button("Cancel", key=f"cancel_{state['id']}", on_click=job.cancel)
    elif state["status"] == jobs.DONE:
        st.success(f"Finished. Checkpoint saved as `{result['checkpoint']}`; it is "
                   "available on the Latent explorer and Home pages now.")
    elif state["status"] == jobs.CANCELLED:
        saved = result.get("checkpoint")
        st.warning("Training was cancelled. " + (f"What it learned is kept: `{saved}`."
                                                 if saved else "No checkpoint was saved."))
    else:
        st.error(f"Training stopped: {state['error']}")
    if result.get("metrics"):
        st.dataframe([{"test digits": split, "BCE": f"{m['bce']:.4f}", "MSE": f"{m['mse']:.4f}",
                       "IoU": f"{m['iou']:.3f}"} for split, m in result["metrics"].items()],
                     hide_index=True, key=f"metrics_{state['id']}")


if current is not None:
    if current.running:
        @st.fragment(run_every=LIVE_REDRAW_S)
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
