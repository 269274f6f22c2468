"""Every lesson step that trains, and the Trainer's defaults, run as a learner runs them: the Trainer page
(Streamlit's AppTest, the app's own run manager and worker processes) opened with the step's link, the
time estimate read as the page shows it, Train pressed, and the time taken from Train to the last run's
results. The steps come from the lessons table (`cnnviz.lessons`), so a changed step is measured as it
now reads; a lesson's steps share one session, as a learner's do ("base=run:last" is the step before).

Each step's estimate is read twice: in a fresh session (no run measured yet: the cost model alone) and
in the lesson's session after its earlier runs (the speed they measured). The ratio of the longer to the
shorter of estimate and time taken must stay within 1.5 for both.

Prints the estimates against the times, each lesson's figures, and RESULT lines.

Run: python bench/lessons.py   (about 6 minutes on the quiet 2-core machine)
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass

from common import ROOT, table

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CNNVIZ_SPARES", "1")  # the app's default: one worker waits warm

from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from cnnviz import lessons
from cnnviz.estimates import load_now

APP, TRAINER = str(ROOT / "app.py"), "pages/trainer.py"
TIMEOUT = 120
DEFAULTS = ("mnist-bundled", "shapes", "digits")  # the Trainer's defaults for the datasets that need no download


@dataclass
class Measured:
    name: str
    fresh_s: float  # the estimate in a new session
    session_s: float  # the estimate after the earlier runs of the lesson
    taken_s: float  # Train to the last run's results
    load_before: float
    load_after: float
    runs: list

    @property
    def trained(self) -> bool:
        """Every run ended as trained (not failed, timed out...): its time is what the estimate was for."""
        return all(run.state.good for run in self.runs)

    @property
    def worst(self) -> float:
        return max(ratio(self.fresh_s, self.taken_s), ratio(self.session_s, self.taken_s))


def ratio(a: float, b: float) -> float:
    return max(a, b) / max(min(a, b), 1e-9)


def shown_seconds(at: AppTest) -> float:
    """The estimate as the page writes it: 'about 38 s', 'about 1.6 min'."""
    text = next(c.value for c in at.caption if c.value.startswith("**Estimated time"))
    number, unit = re.search(r"about ([\d.]+) (s|min)\*\*", text).groups()
    return float(number) * (60 if unit == "min" else 1)


def as_a_running_server() -> None:
    """AppTest sets Streamlit's pages/-folder flag again before every run, so every page's
    `run_through_navigation` reruns it and a click is lost; a running server clears it once, at its first
    `st.navigation` (as tests/conftest.py's fixture does). Through app.py, as a server runs it: the
    worker processes start from app.py's module, never from a page's."""
    original = PagesManager.__init__

    def cleared(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    PagesManager.__init__ = cleared


def session() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    return at


def opened(query: dict, at: AppTest | None = None) -> AppTest:
    """The Trainer opened from a link (`query`), in a new session or in `at`'s."""
    at = at or session()
    at.query_params.clear()
    at.query_params.update(query)
    at.switch_page(TRAINER).run()
    if at.exception:
        raise RuntimeError([e.message for e in at.exception])
    return at


def train(at: AppTest) -> tuple[list, float]:
    """Press Train (or Train both) and wait for every run it started: (runs, seconds from the press)."""
    from app_support.common.runs import run_manager

    manager = run_manager()
    owner = at.session_state["_cnnviz_owner"]
    before = {run.id for run in manager.runs_for(owner)}
    pressed = time.monotonic()
    at.button(key="trainer_train").click().run()
    runs = [run for run in manager.runs_for(owner) if run.id not in before]
    if not runs:
        raise RuntimeError(f"Train started nothing: {[e.value for e in at.error]}")
    deadline = pressed + 900
    while not all(run.done for run in runs):
        if time.monotonic() > deadline:
            raise TimeoutError(", ".join(run.label for run in runs))
        time.sleep(0.2)
    return runs, max(run.finished for run in runs) - pressed


def measure(name: str, query: dict, session: AppTest) -> Measured:
    fresh = shown_seconds(opened(query))
    opened(query, session)
    estimate = shown_seconds(session)
    load = load_now()
    runs, taken = train(session)
    return Measured(name, fresh, estimate, taken, load, load_now(), runs)


def final(run, key: str) -> float:
    return float(run.epochs[-1][key]) if run.epochs and key in run.epochs[-1] else float("nan")


def main() -> None:
    from app_support.common.runs import run_manager

    as_a_running_server()
    measured: dict[str, Measured] = {}
    skipped = []
    warm = opened({"dataset": "shapes", "epochs": "1"})  # workers started and Keras imported, as on a server in use
    train(warm)
    for lesson_id, lesson in lessons.LESSONS.items():
        session = None
        for index, step in enumerate(lesson.steps):
            if step.page != "trainer":
                continue
            query = lessons.step_query(lesson_id, index)
            name = f"{lesson_id} {index + 1}: {step.title}"
            session = opened(query, session)
            if not [c for c in session.caption if c.value.startswith("**Estimated time")]:
                skipped.append([name, " ".join(e.value for e in [*session.error, *session.info])[:90]])
                continue
            print(f"{name}: training...", flush=True)
            measured[name] = measure(name, query, session)
            print(f"{name}: {measured[name].taken_s:.1f} s", flush=True)
    for dataset in DEFAULTS:
        name = f"default: {dataset}"
        measured[name] = measure(name, {"dataset": dataset}, opened({"dataset": dataset}))
        print(f"{name}: {measured[name].taken_s:.1f} s", flush=True)
    run_manager().shutdown()

    print(f"\nOn {os.cpu_count()} cores. Estimates as the Trainer shows them (rounded), against Train to results.")
    rows = [
        [
            m.name,
            ", ".join(str(run.state) for run in m.runs),
            m.fresh_s,
            m.session_s,
            m.taken_s,
            m.worst,
            f"{m.load_before:.1f} / {m.load_after:.1f}",
        ]
        for m in measured.values()
    ]
    headers = ["step", "runs", "estimate new s", "estimate after runs s", "taken s", "worst ratio", "load before/after"]
    print(table(headers, rows))
    if skipped:
        print()
        print(table(["step not trained here", "why"], skipped))
    rows = []
    for m in measured.values():
        for run in m.runs:
            best = min(range(len(run.epochs)), key=lambda i: run.epochs[i].get("val_loss", float("inf"))) + 1
            rows.append(
                [
                    m.name,
                    run.job.title,
                    f"{run.params:,}",
                    final(run, "accuracy"),
                    final(run, "val_accuracy"),
                    run.evaluation.test_accuracy,
                    f"{best} of {len(run.epochs)}",
                ]
            )
    print()
    print(table(["step", "run", "params", "train acc", "val acc", "test acc", "best val loss at"], rows))

    def runs_of(prefix: str) -> list:
        return next(m.runs for name, m in measured.items() if name.startswith(prefix))

    print()
    trained = [m for m in measured.values() if m.trained]
    if len(trained) < len(measured):
        print(f"{len(measured) - len(trained)} step(s) did not train to the end (see runs): left out of the ratio")
    print(f"RESULT estimate_worst_ratio {max(m.worst for m in trained):.2f}")
    print(f"RESULT lesson_max_train_s {max(m.taken_s for n, m in measured.items() if not n.startswith('default')):.1f}")
    mnist = runs_of("default: mnist-bundled")[0]
    print(f"RESULT mnist_default_test_accuracy {mnist.evaluation.test_accuracy:.4f}")
    print(f"RESULT mnist_default_train_s {mnist.train_seconds:.1f}")
    dense, cnn = runs_of("why-convolution 1")
    print(f"RESULT cnn_minus_dense_accuracy {cnn.evaluation.test_accuracy - dense.evaluation.test_accuracy:.4f}")
    print(f"RESULT cnn_minus_dense_params {cnn.params - dense.params}")
    (long,) = runs_of("why-convolution 3")
    losses = [epoch["val_loss"] for epoch in long.epochs]
    print(f"RESULT overfit_val_loss_rise {losses[-1] - min(losses):.4f}")
    (off,), (on,) = runs_of("real-photos 2"), runs_of("real-photos 3")
    gap_off = final(off, "accuracy") - final(off, "val_accuracy")
    gap_on = final(on, "accuracy") - final(on, "val_accuracy")
    print(f"RESULT augmentation_gap_off_minus_on {gap_off - gap_on:.4f}")
    print(f"RESULT augmentation_test_on_minus_off {on.evaluation.test_accuracy - off.evaluation.test_accuracy:.4f}")
    transfer, scratch = runs_of("transfer 1")
    print(
        "RESULT transfer_minus_scratch_accuracy "
        f"{transfer.evaluation.test_accuracy - scratch.evaluation.test_accuracy:.4f}"
    )
    (tuned,) = runs_of("transfer 2")
    tuned_gain = tuned.evaluation.test_accuracy - transfer.evaluation.test_accuracy
    print(f"RESULT finetune_minus_frozen_accuracy {tuned_gain:.4f}")


if __name__ == "__main__":
    main()
