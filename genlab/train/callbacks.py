"""One way to watch and stop training, shared by every trainer in genlab.

The 3D trainer (genlab.train.trainer), the digit classifier (genlab.eval.classifier), the clock
reader (genlab.clock.train) and the clock detector (genlab.clock.detect) all take

    on_progress(Progress)   called after every step, and once more at an epoch's end (val_loss or
                            metrics set then): a progress bar, a log, the app's job report
    stop_event              anything with is_set() (a threading.Event): set, the trainer stops
                            after the current step and hands back what it has

A trainer counted in steps rather than epochs reports one epoch of all its steps.
"""

from dataclasses import dataclass, field


@dataclass
class Progress:
    """Where a training run is: reported to on_progress after every step and at every epoch's end."""

    epoch: int  # 1-based
    epochs: int
    step: int  # steps done in this epoch, 1-based
    steps_per_epoch: int
    losses: dict[str, float]  # of the last step ("loss" and named parts)
    samples_per_s: float = 0.0
    val_loss: float | None = None  # set at an epoch's end by trainers that validate
    metrics: dict[str, float] = field(default_factory=dict)  # other end-of-epoch figures (e.g. test_accuracy)

    @property
    def done(self) -> int:
        """Returns the steps done in the whole run."""
        return (self.epoch - 1) * self.steps_per_epoch + self.step

    @property
    def total(self) -> int:
        """Returns the steps the whole run plans."""
        return self.epochs * self.steps_per_epoch

    @property
    def epoch_end(self) -> bool:
        """Returns whether this is the report at an epoch's end."""
        return self.val_loss is not None or bool(self.metrics)


def stop_requested(stop_event) -> bool:
    """Returns True if a stop_event was given and is set."""
    return stop_event is not None and stop_event.is_set()


def report_step(on_progress, step: int, steps: int, loss: float) -> None:
    """Reports step `step` of `steps` with its loss to on_progress (if given), for a trainer counted in steps."""
    if on_progress is not None:
        on_progress(Progress(1, 1, step, steps, {"loss": loss}))


def optimise_step(loss, optimizer, schedule, step: int, steps: int, on_progress=None, stop_event=None) -> bool:
    """Returns whether to stop after one step of a trainer counted in steps: backpropagates `loss`, steps the
    optimizer and its schedule, and reports step `step` (1-based) of `steps` (report_step)."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    schedule.step()
    report_step(on_progress, step, steps, loss.item())
    return stop_requested(stop_event)
