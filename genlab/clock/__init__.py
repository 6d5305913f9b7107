"""genlab.clock: read the time from a photo of an analogue clock.

    from genlab.clock import read_clock
    reading = read_clock("photo.jpg")   # ClockReading(hour, minute, confidence, alternatives, face, dial)

Modules: synth (synthetic clocks), leiden (the Leiden dataset format), preprocess (uploads
to 150x150 faces), models (CNN trunk and heads), train (train/evaluate/save/load), read.
"""


def __getattr__(name):
    # Imported lazily so that `python -m genlab --help` does not load torch.
    if name in ("read_clock", "ClockReading", "load_default_reader"):
        from genlab.clock import read

        return getattr(read, name)
    raise AttributeError(f"module 'genlab.clock' has no attribute {name!r}")
