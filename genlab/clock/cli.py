"""`python -m genlab clock ...`: generate clocks, train and compare readers, read a photo, benchmark.

    python -m genlab clock generate --n 1000 --out clocks/        # Leiden-format folder + grid.png
    python -m genlab clock compare --steps 400                     # all heads, gamma off/on -> results/
    python -m genlab clock train --steps 3000                      # -> weights/clock_reader.safetensors
    python -m genlab clock train-detector --steps 2000             # -> weights/clock_detector.safetensors
    python -m genlab clock train-twelve --steps 6000               # -> weights/clock_twelve.safetensors
    python -m genlab clock read photo.jpg [--box LEFT TOP SIDE]
    python -m genlab clock calibrate                                # fit the confidence temperature
    python -m genlab clock average A B [B2 ...] --weight 0.5 --out C  # C = 0.5 A + 0.5 mean(B, B2, ...)
    python -m genlab clock evaluate --scenes                        # read_clock on held-out clocks
    python -m genlab clock evaluate --slant 0.6 --turn 15           # ... each seen at a slant, turned
    python -m genlab clock evaluate --any-turn [--twelve off]        # ... turned anywhere on the circle
    python -m genlab clock bench
"""

import math
import sys
import time

from genlab.arguments import count

HEAD_NAMES = ("regression", "classes24", "classes720", "multi", "sincos", "hands", "polar")  # models.READER_HEADS
TRUNK_NAMES = ("cartesian", "polar", "face", "ellipse", "aligned")  # models.TRUNKS
FACE_TRUNK_NAMES = ("face", "ellipse", "aligned")  # models.FACE_TRUNKS: trunks with a face locator
# The comparison: the study's heads and `hands` on the polar trunk, gamma on/off for the two best,
# the plain (cartesian) trunk for reference, `hands` on the located face, and the per-angle polar reader.
COMPARE_RUNS = (
    *[(head, "polar", None) for head in ("regression", "classes24", "classes720", "multi", "sincos", "hands")],
    ("multi", "cartesian", None),
    ("hands", "face", None),
    ("polar", "polar", None),
    ("multi", "polar", "gamma"),
    ("polar", "polar", "gamma"),
)


def progress_bar(label: str):
    """Returns a callback bar(step, total, loss=None) that draws a text progress bar on stderr (for a trainer's
    on_progress: step_bar)."""
    start = time.time()

    def on_step(step, total, loss=None):
        if step % max(1, total // 200) and step != total:
            return False
        filled = int(30 * step / total)
        extra = "" if loss is None else f" loss {loss:.3f}"
        sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (30 - filled)}] {step}/{total}"
                         f" {time.time() - start:5.0f}s{extra}")
        if step == total:
            sys.stderr.write("\n")
        sys.stderr.flush()
        return False

    return on_step


def step_bar(label: str):
    """Returns an on_progress(Progress) callback drawing progress_bar(label) with each step's loss."""
    bar = progress_bar(label)
    return lambda p: bar(p.done, p.total, p.losses.get("loss"))


def _training_data(args, with_faces=False):
    """Returns ((images, labels[, faces]), trained_on): faces (synthetic only) when with_faces; None for Leiden."""
    from genlab.clock import leiden, synth

    if args.leiden:
        data = leiden.load_leiden(args.leiden)
        return (*data, None) if with_faces else data, {"source": "leiden", "folder": str(args.leiden)}
    bar = progress_bar("generating clocks")
    data = synth.cached_clocks(args.n_train, seed=args.seed, progress=lambda d, t: bar(d, t), with_faces=with_faces,
                               hard=args.hard)
    return data, {"source": "synthetic", "n": args.n_train, "seed": args.seed, "hard": args.hard,
                  "generator_version": synth.GENERATOR_VERSION}


def _generate(args) -> int:
    from genlab.clock import leiden, synth

    images, labels = synth.make_clocks(args.n, args.seed, args.size, progress=progress_bar("generating"))
    leiden.save_leiden(args.out, images, labels)
    synth.save_grid(images[:48], f"{args.out}/grid.png")
    print(f"wrote {args.n} clocks to {args.out}/images.npy, labels.npy and grid.png")
    return 0


def _train(args) -> int:
    import torch

    from genlab.clock import train
    from genlab.clock.read import WEIGHTS_PATH

    torch.set_num_threads(args.threads)
    face = args.trunk in FACE_TRUNK_NAMES
    data, trained_on = _training_data(args, with_faces=face)
    images, labels, faces = data if face else (*data, None)
    init = train.load_reader(args.init) if args.init else None
    earlier = {k: v for k, v in init.config.trained_on.items() if k != "history"} if init else None
    history = [*init.config.trained_on.get("history", []), earlier] if init else []  # flat: each run once
    model = train.train_reader(images, labels, head=args.head, steps=args.steps, gamma=args.gamma, lr=args.lr,
                               width=args.width, trunk=args.trunk, on_progress=step_bar(f"training {args.head}"),
                               trained_on={**trained_on, "steps": args.steps, "history": history}, init=init,
                               faces=faces, locator_steps=args.locator_steps, squash=args.squash, turn=args.turn,
                               locator_lr=args.locator_lr)
    _score_on_held_out(model, args)
    out = args.out or WEIGHTS_PATH
    train.save_reader(model, out)
    print(f"saved {out}; held-out synthetic: {model.config.metrics}")
    return 0


def _train_detector(args) -> int:
    import torch

    from genlab.clock import detect

    torch.set_num_threads(args.threads)
    bar = progress_bar("generating scenes")
    model = detect.train_detector(
        args.steps,
        args.n_scenes,
        args.seed,
        args.batch_size,
        on_progress=step_bar("training detector"),
        progress=lambda done, total: bar(done, total),
    )
    metrics = detect.evaluate_detector(model, args.n_test, args.test_seed)
    out = args.out or detect.DETECTOR_PATH
    detect.save_detector(model, out, metrics)
    print(f"saved {out}; held-out synthetic scenes: {metrics}")
    return 0


def _train_twelve(args) -> int:
    import torch

    from genlab.clock import synth, twelve
    from genlab.clock.models import faces_to_unit
    from genlab.clock.read import load_default_reader
    from genlab.clock.train import prepare

    torch.set_num_threads(args.threads)
    reader = load_default_reader(args.weights)
    if reader.config.trunk != "aligned":
        raise ValueError("the twelve finder works beside a reader of trunk 'aligned' (its locator finds the dial)")

    def clocks(n, seed, hard):
        bar = progress_bar("generating clocks")
        images, _, faces = synth.cached_clocks(n, seed=seed, progress=lambda d, t: bar(d, t), with_faces=True,
                                               hard=hard)
        return (prepare(images, reader.config.input_size, reader.config.gamma),
                faces_to_unit(torch.as_tensor(faces, dtype=torch.float32), images.shape[-1]))

    finder = twelve.train_twelve(reader, *clocks(args.n_train, args.seed, args.hard), args.steps,
                                 args.batch_size, on_progress=step_bar("training twelve finder"))
    metrics = twelve.evaluate_twelve(reader, finder, *clocks(args.n_test, args.test_seed, 0.0))
    trained_on = {"source": "synthetic", "n": args.n_train, "seed": args.seed, "hard": args.hard,
                  "steps": args.steps, "generator_version": synth.GENERATOR_VERSION}
    out = args.out or twelve.TWELVE_PATH
    twelve.save_twelve(finder, out, trained_on, metrics)
    print(f"saved {out}; held-out synthetic clocks turned anywhere: {metrics}")
    return 0


def _compare(args) -> int:
    import torch

    from genlab.clock import synth, train
    from genlab.paths import RESULTS_DIR

    torch.set_num_threads(args.threads)
    (images, labels, faces), trained_on = _training_data(args, with_faces=True)
    test = synth.cached_clocks(args.n_test, seed=args.test_seed)
    runs = [(head, trunk, train.GAMMA if gamma else None) for head, trunk, gamma in COMPARE_RUNS
            if head in args.heads and (faces is not None or trunk != "face")]  # Leiden clocks have no faces
    rows = train.compare_heads(images, labels, *test, steps=args.steps, runs=runs,
                               log=lambda line: print(line, flush=True), train_faces=faces)
    table = train.heads_table(rows)
    heads = "" if set(args.heads) == set(HEAD_NAMES) else " --heads " + " ".join(args.heads)
    out = RESULTS_DIR / "clock_heads.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        "# Clock reader heads (cf. the study's Table 8)\n\n"
        f"Command: `python -m genlab clock compare --steps {args.steps} --n-train {args.n_train}{heads}` "
        "(1 torch thread on a shared 2-core CPU). "
        f"Each row: a reader trained {args.steps} steps of batch 64 on {trained_on}, "
        f"tested on {args.n_test} held-out synthetic clocks (seed {args.test_seed}). "
        "Trunk `cartesian`: the compact CNN (coordinate channels, global pooling) on the 72x72 image; "
        "`polar`: the same CNN on the image unwrapped around its centre (32 radii x 96 angles); "
        "`face`: unwrapped around the face a small CNN locates (trained first, 4,000 steps, on the generator's "
        "face centres and radii; then frozen). "
        "Head `polar`: PolarClockNet, which scores every angle as minute hand and hour hand "
        "(720 structured classes). Gamma: skimage.exposure.adjust_gamma on the inputs. Errors are common-sense errors "
        "(cyclic minutes on a 12-hour dial).\n\n" + table + "\n")
    print(table)
    print(f"wrote {out}")
    return 0


def _read(args) -> int:
    from genlab.clock.read import load_default_reader, percent, read_clock

    reader = load_default_reader(args.weights)
    reading = read_clock(args.image, reader=reader, top_k=args.top_k, box=args.box)
    if reading.sure:
        print(f"{reading.text}  (confidence {percent(reading.confidence)})")
    else:
        print(f"not sure: {reading.text}?  (confidence {percent(reading.confidence)}); mark the clock with "
              "--box LEFT TOP SIDE if the located dial (below) is not on the clock")
    for alt in reading.alternatives[1:]:
        print(f"  or {alt.text}  ({percent(alt.probability)})")
    if reading.dial is not None:
        turned = f", turned {math.degrees(reading.turn):+.0f} degrees" if abs(reading.turn) >= math.radians(2) else ""
        print("dial located at x {:.0f}, y {:.0f}, radius {:.0f} px".format(*reading.dial) + turned)
    return 0


def _score_on_held_out(model, args) -> None:
    """Sets a reader's config.metrics to its figures on args.n_test held-out synthetic clocks (args.test_seed)."""
    from genlab.clock import synth, train

    images, labels, faces = synth.cached_clocks(args.n_test, seed=args.test_seed, with_faces=True)
    model.config.metrics = {**train.evaluate(model, images, labels), "test_seed": args.test_seed}
    if model.config.trunk in FACE_TRUNK_NAMES:
        model.config.metrics["face"] = train.face_errors(model, images, faces)


def _average(args) -> int:
    from genlab.clock import train

    first, tuned = train.load_reader(args.first), [train.load_reader(path) for path in args.tuned]
    model = train.average_readers(first, tuned, args.weight)
    _score_on_held_out(model, args)
    train.save_reader(model, args.out)
    mean = args.tuned[0] if len(args.tuned) == 1 else f"the mean of {', '.join(args.tuned)}"
    print(f"saved {args.out}: {1 - args.weight:g} x {args.first} + {args.weight:g} x {mean}; held-out synthetic: "
          f"{model.config.metrics}")
    return 0


# clock calibrate's synthetic photos: (height, width) and each clock's side as a share of the scene's short side. As
# hard as real photos (84-87% hour right, about as many as the dev photos re-taken), where the reading is the whole
# read_clock path, detector included; plain synthetic clocks are read 99.6% right and would sharpen too much.
CALIBRATION_SCENES = (((360, 480), (0.1, 0.25)), ((1512, 2016), (0.03, 0.06)))


def _calibrate(args) -> int:
    import numpy as np
    import torch

    from genlab.clock import synth, train
    from genlab.clock.models import for_reading
    from genlab.clock.read import MOST_SURE_MISREADS, SURE_CONFIDENCE, WEIGHTS_PATH, fit_temperature, time_distribution

    torch.set_num_threads(args.threads)
    path = args.weights or WEIGHTS_PATH
    reader = train.load_reader(path)
    fast = for_reading(train.load_reader(path))  # the same outputs, read faster
    bar = progress_bar("reading synthetic photos")
    readings, labels = [], []
    for k, ((height, width), sizes) in enumerate(CALIBRATION_SCENES):
        scenes, scene_labels = synth.make_scenes(args.n, seed=args.seed + k, height=height, width=width, sizes=sizes)
        for i, image in enumerate(scenes):
            readings.append(time_distribution(image, fast)[0])
            bar(k * args.n + i + 1, len(CALIBRATION_SCENES) * args.n)
        labels.append(scene_labels)
    labels = np.concatenate(labels)
    reader.config.temperature = fit_temperature(np.array(readings), labels[:, 0] * 60 + labels[:, 1])
    reader.config.calibration = {
        "scenes": [{"n": args.n, "seed": args.seed + k, "size": list(size), "clock_size": list(sizes)}
                   for k, (size, sizes) in enumerate(CALIBRATION_SCENES)],
        "generator_version": synth.GENERATOR_VERSION,
        "objective": "Brier score of the confidence against 'within 10 minutes', "
                     f"at most {MOST_SURE_MISREADS:.0%} of the misreads claiming {SURE_CONFIDENCE} or more"}
    out = args.out or path
    train.save_reader(reader, out)
    print(f"temperature {reader.config.temperature} (fitted on {len(labels)} synthetic scenes, seeds {args.seed}.."
          f"{args.seed + len(CALIBRATION_SCENES) - 1}); saved {out}")
    return 0


MIN_CLOCK_SIDE = 16  # clock evaluate --scenes: the smallest clock photo (pixels) worth drawing


def _aspect(text: str) -> float:
    """Returns a dial's aspect (short / long axis) from the command line: a number in [0.3, 1]."""
    import argparse

    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.3 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not an aspect between 0.3 and 1")
    return value


def _evaluate(args) -> int:
    import numpy as np

    from genlab.clock import synth, train
    from genlab.clock.detect import detector_option
    from genlab.clock.models import common_sense_error
    from genlab.clock.read import SURE_CONFIDENCE, format_time, load_default_reader, read_clock
    from genlab.clock.twelve import finder_option

    reader = load_default_reader(args.weights)
    finder = finder_option(args.twelve)  # the networks before the clocks: a bad file fails at once
    detector = detector_option(args.detector)
    if args.scenes:
        height, width = args.scene_size
        smallest = int(args.clock_size[0] * min(height, width))
        if smallest < MIN_CLOCK_SIDE:
            raise ValueError(f"clocks {args.clock_size[0]:g} of a {height}x{width} scene's short side are "
                             f"{smallest} px: at least {MIN_CLOCK_SIDE} px needed "
                             "(a bigger --scene-size or --clock-size)")
        images, labels = synth.make_scenes(args.n, seed=args.seed, height=height, width=width,
                                           sizes=tuple(args.clock_size))
    else:
        images, labels, faces = synth.make_clocks(args.n, seed=args.seed, with_faces=True)
        if args.slant < 1 or args.turn or args.any_turn:
            images = train.slanted(images, faces, args.slant, args.seed, args.turn, args.any_turn)
    readings = [read_clock(image, reader=reader, crop=args.scenes, finder=finder, detector=detector)
                for image in images]
    predicted = np.array([r.hour * 60 + r.minute for r in readings])
    sure = np.array([r.sure for r in readings])
    errors = common_sense_error(labels[:, 0] * 60 + labels[:, 1], predicted)
    off = errors > 10
    scene = (f"clocks in bigger scenes ({args.scene_size[0]}x{args.scene_size[1]} px; face detection + crop; clock "
             f"photos {args.clock_size[0]:.0%}-{args.clock_size[1]:.0%} of the short side)")
    what = (scene if args.scenes else "150x150 clocks"
            + (f", each dial squashed to aspect {args.slant:g} (seen at a slant)" if args.slant < 1 else "")
            + (f", turned by N(0, {args.turn:g}) degrees" if args.turn else "")
            + (", turned anywhere on the circle" if args.any_turn else "")
            + (", without the twelve finder" if finder is False else ""))
    print(f"{args.n} held-out synthetic {what}, seed {args.seed}: hour accuracy "
          f"{np.mean(predicted // 60 == labels[:, 0]):.1%}, median error {np.median(errors):.1f} min, "
          f"mean {errors.mean():.1f} min, within 10 min {np.mean(errors <= 10):.1%}; sure (confidence >= "
          f"{SURE_CONFIDENCE}) {sure.mean():.1%}, "
          + (f"and {sure[off].mean():.0%} of the {off.sum()} more than 10 min off" if off.any()
             else "none more than 10 min off"))
    if args.misreads:
        worst = np.argsort(-errors, kind="stable")[:48]
        synth.save_grid(images[worst], args.misreads)
        print(f"wrote the {len(worst)} worst misreads to {args.misreads} (worst first, row by row): "
              + ", ".join(f"{format_time(*labels[i])} read {format_time(*divmod(predicted[i], 60))}"
                          for i in worst[:8]) + ", ...")
    return 0


def _bench(args) -> int:
    import numpy as np
    import torch

    from genlab.clock import synth
    from genlab.clock.read import load_default_reader, read_clock

    torch.set_num_threads(args.threads)
    for workers in sorted({1, args.workers}):
        times = []
        for repeat in range(args.repeats):
            start = time.time()
            synth.make_clocks(args.n_clocks, seed=repeat, workers=workers)
            times.append(time.time() - start)
        median = float(np.median(times))
        print(f"generate {args.n_clocks} clocks 150x150, {workers} process(es): median {median:.2f} s of "
              f"{args.repeats} ({1000 * median / args.n_clocks:.2f} ms/clock, {args.n_clocks / median:.0f} clocks/s)")
    reader = load_default_reader(args.weights)
    images, _ = synth.make_clocks(args.n_reads + 5, seed=99)
    for image in images[:5]:  # warm-up
        read_clock(image, reader=reader)
    for name, crop in (("read_clock (150x150 array, no crop)", False), ("read_clock (with face detection)", True)):
        t = []
        for image in images[5:]:
            start = time.perf_counter()
            read_clock(image, reader=reader, crop=crop)
            t.append(time.perf_counter() - start)
        print(f"{name}: median {1000 * np.median(t):.1f} ms over {len(t)} reads "
              f"({torch.get_num_threads()} thread(s))")
    return 0


def add_parser(subparsers) -> None:
    """Registers `clock` with subcommands generate, train, compare, read, calibrate, evaluate and bench."""
    parser = subparsers.add_parser("clock", help="the analogue clock reader", description=__doc__,
                                   formatter_class=__import__("argparse").RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="clock_command", required=True, metavar="ACTION")

    p = sub.add_parser("generate", help="write synthetic clocks as a Leiden-format folder")
    p.add_argument("--n", type=count, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", type=count, default=150)
    p.add_argument("--out", required=True, help="folder for images.npy, labels.npy, grid.png")
    p.set_defaults(func=_generate)

    for name, func, help_text in (("train", _train, "train a reader and save it"),
                                  ("compare", _compare, "train every head briefly; write results/clock_heads.md")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--steps", type=count, default=3000 if name == "train" else 400)
        p.add_argument("--n-train", type=count, default=40000, help="synthetic training clocks")
        p.add_argument("--seed", type=int, default=1, help="synthetic training seed")
        p.add_argument("--leiden", help="train on a Leiden-format folder instead of synthetic clocks")
        p.add_argument("--hard", type=float, default=0.0,
                       help="share of synthetic training clocks with hard cases (subdials, text, skeleton hands...)")
        p.add_argument("--n-test", type=count, default=2000)
        p.add_argument("--test-seed", type=int, default=1000)
        p.add_argument("--threads", type=count, default=1, help="torch threads (the CPU is shared)")
        if name == "train":
            p.add_argument("--head", choices=HEAD_NAMES, default="polar")
            p.add_argument("--trunk", choices=TRUNK_NAMES, default="polar",
                           help="unwrap the face to polar coordinates first (ignored by --head polar)")
            p.add_argument("--gamma", type=float, default=None, help="gamma enhancement (default off)")
            p.add_argument("--width", type=count, default=16)
            p.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (one-cycle)")
            p.add_argument("--init", help="start from this reader's weights (fine-tune; same head/width; "
                                          "trunk polar -> face -> ellipse -> aligned keeps the polar convolutions)")
            p.add_argument("--locator-steps", type=count, default=15000,  # train.LOCATOR_STEPS
                           help="trunk face, ellipse or aligned: steps to train the face locator (skipped if "
                                "--init has one of the same trunk)")
            p.add_argument("--locator-lr", type=float, default=3e-3,  # train.LOCATOR_LR
                           help="the face locator's peak learning rate (lower keeps more of an --init locator)")
            p.add_argument("--squash", type=float, default=0.0,
                           help="share of training clocks squashed to an ellipse, as dials seen at a slant "
                                "(trunk ellipse learns to find and undo it)")
            p.add_argument("--turn", type=float, default=0.0, metavar="DEGREES",
                           help="turn every training clock in its plane by N(0, DEGREES), as a watch held at an angle "
                                "(trunk aligned learns to find and undo it)")
            p.add_argument("--out", default=None, help="default weights/clock_reader.safetensors")
        else:
            p.add_argument("--heads", nargs="+", choices=HEAD_NAMES, default=list(HEAD_NAMES))
        p.set_defaults(func=func)

    p = sub.add_parser("train-detector", help="train the dial detector on synthetic scenes and save it")
    p.add_argument("--steps", type=count, default=2000)
    p.add_argument("--n-scenes", type=count, default=20000, help="synthetic training scenes (cached)")
    p.add_argument("--batch-size", type=count, default=32)
    p.add_argument("--seed", type=int, default=0, help="synthetic training seed")
    p.add_argument("--n-test", type=count, default=1000, help="held-out synthetic scenes to score")
    p.add_argument("--test-seed", type=int, default=1000)
    p.add_argument("--threads", type=count, default=1, help="torch threads (the CPU is shared)")
    p.add_argument("--out", default=None, help="default weights/clock_detector.safetensors")
    p.set_defaults(func=_train_detector)

    p = sub.add_parser("train-twelve", help="train the network that finds twelve o'clock on a dial turned anywhere")
    p.add_argument("--steps", type=count, default=6000)
    p.add_argument("--n-train", type=count, default=48000, help="synthetic training clocks (cached)")
    p.add_argument("--seed", type=int, default=11, help="synthetic training seed")
    p.add_argument("--hard", type=float, default=0.4, help="share of training clocks with hard cases")
    p.add_argument("--batch-size", type=count, default=64)
    p.add_argument("--n-test", type=count, default=1000, help="held-out synthetic clocks to score")
    p.add_argument("--test-seed", type=int, default=1000)
    p.add_argument("--weights", default=None, help="the reader whose locator finds the dials (default: shipped)")
    p.add_argument("--threads", type=count, default=1, help="torch threads (the CPU is shared)")
    p.add_argument("--out", default=None, help="default weights/clock_twelve.safetensors")
    p.set_defaults(func=_train_twelve)

    p = sub.add_parser("read", help="tell the time on a photo")
    p.add_argument("image", help="PNG, JPEG or WebP file")
    p.add_argument("--weights", default=None, help="default weights/clock_reader.safetensors")
    p.add_argument("--top-k", type=count, default=3)
    p.add_argument("--box", type=float, nargs=3, metavar=("LEFT", "TOP", "SIDE"),
                   help="read only this square of the photo (pixels): where the clock is")
    p.set_defaults(func=_read)

    p = sub.add_parser("calibrate", help="fit a reader's confidence temperature on synthetic photos")
    p.add_argument("--weights", default=None, help="default weights/clock_reader.safetensors")
    p.add_argument("--out", default=None, help="default: overwrite --weights")
    p.add_argument("--n", type=count, default=300, help="synthetic scenes of each kind (CALIBRATION_SCENES)")
    p.add_argument("--seed", type=int, default=7000, help="the first of two seeds never used for training or testing")
    p.add_argument("--threads", type=count, default=1)
    p.set_defaults(func=_calibrate)

    p = sub.add_parser("average", help="average readers' weights (a reader and its fine-tunes: WiSE-FT, a model soup)")
    p.add_argument("first", help="a reader (.safetensors): its config is kept")
    p.add_argument("tuned", nargs="+", help="readers of the same architecture, e.g. first fine-tuned with other seeds")
    p.add_argument("--weight", type=float, default=0.3, help="the tuned readers' share (0-1), split evenly among them")
    p.add_argument("--n-test", type=count, default=2000, help="held-out synthetic clocks to score the result on")
    p.add_argument("--test-seed", type=int, default=1000)
    p.add_argument("--out", required=True)
    p.set_defaults(func=_average)

    p = sub.add_parser("evaluate", help="read held-out synthetic clocks through read_clock and score them")
    p.add_argument("--n", type=count, default=500)
    p.add_argument("--seed", type=int, default=5000, help="a seed never used for training")
    p.add_argument("--scenes", action="store_true", help="place each clock small in a bigger scene (tests cropping)")
    p.add_argument("--clock-size", type=float, nargs=2, default=(0.3, 0.7), metavar=("LOW", "HIGH"),
                   help="--scenes: each clock photo's side, as shares of the scene's short side (default 0.3 0.7; "
                   "its dial's radius is 30-47%% of that side)")
    p.add_argument("--scene-size", type=count, nargs=2, default=(360, 480), metavar=("HEIGHT", "WIDTH"),
                   help="--scenes: the scene's pixels (default 360 480; a phone photo is 3024 4032, where a clock "
                        "a few percent of the short side still has a hundred pixels)")
    p.add_argument("--slant", type=_aspect, default=1.0, metavar="ASPECT",
                   help="squash each clock's dial to this aspect (0.3-1, short / long axis) along a random "
                        "direction, as a dial seen at a slant (not with --scenes)")
    p.add_argument("--turn", type=float, default=0.0, metavar="DEGREES",
                   help="turn each clock in its plane by N(0, DEGREES) (not with --scenes)")
    p.add_argument("--any-turn", action="store_true",
                   help="turn each clock in its plane by an angle drawn evenly from the whole circle "
                        "(not with --scenes)")
    p.add_argument("--twelve", default=None, metavar="PATH|off",
                   help="the twelve finder (default weights/clock_twelve.safetensors); off: none")
    p.add_argument("--detector", default=None, metavar="PATH",
                   help="the dial detector (default weights/clock_detector.safetensors)")
    p.add_argument("--misreads", help="save a PNG grid of the 48 worst misreads here")
    p.add_argument("--weights", default=None)
    p.set_defaults(func=_evaluate)

    p = sub.add_parser("bench", help="time clock generation and reading")
    p.add_argument("--n-clocks", type=count, default=10000)
    p.add_argument("--repeats", type=count, default=3)
    p.add_argument("--workers", type=count, default=2, help="also time generation split over this many processes")
    p.add_argument("--n-reads", type=count, default=100)
    p.add_argument("--weights", default=None)
    p.add_argument("--threads", type=count, default=1)
    p.set_defaults(func=_bench)
