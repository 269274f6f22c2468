"""The store of learners' work under a class's load, and what it costs a page.

1. Forty learners at once, each saving a run as the run manager does: its row at every one of 20
   epochs (with that epoch's checkpoint), then the model (a 1 MB file) and the final row. On SQLite
   (WAL, busy timeout, writes retried) and on PostgreSQL (a throwaway server, harness/postgres.py, when
   installed). Rows expected against rows found: `store_lost_rows` (goal 0); the final save's time
   (model file written, row and files recorded): `store_save_p95_ms`.
2. A reload of the Trainer in Chromium for a learner with 20 kept runs, to the runs list drawn, against
   the same page's reload for a learner with none, in the same run: `reload_runs_p95_ms` and
   `reload_runs_ratio` (goal <= 1.5). Each reload starts from a page that was drawn (its charts too),
   as a person's does.

    python bench/store.py [--reloads 10] [--skip-browser]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import CHROMIUM, CHROMIUM_ARGS, percentile, start_app, table
from harness.browser import wait_until_idle

LEARNERS, EPOCHS = 40, 20


def save_class(store) -> tuple[int, list[float]]:
    """Forty learners each save a run with 20 checkpoints at once; (rows lost, final-save times in ms)."""
    from cnnviz.store import learner_key, new_learner_id

    keys = [learner_key(new_learner_id()) for _ in range(LEARNERS)]
    model_bytes = os.urandom(2**20)

    def one(key: str) -> float:
        run_id = f"{key[:8]}-1"
        folder = store.data / "runs" / run_id
        folder.mkdir(parents=True, exist_ok=True)
        files = []
        base = {"id": run_id, "learner": key, "number": 1, "title": "bench", "message": "", "job": "{}"}
        for epoch in range(1, EPOCHS + 1):
            path = folder / f"epoch_{epoch:03d}.keras"
            path.write_bytes(b"checkpoint")
            files.append(("checkpoint", epoch, f"runs/{run_id}/{path.name}", path.stat().st_size))
            points = str([{"epoch": e, "loss": 1 / e} for e in range(1, epoch + 1)]).replace("'", '"')
            store.save_run(
                {**base, "state": "running", "created": time.time(), "epochs": points, "batches": "[]"}, files
            )
        started = time.perf_counter()
        (folder / "model.keras").write_bytes(model_bytes)
        final = [*files, ("model", None, f"runs/{run_id}/model.keras", len(model_bytes))]
        store.save_run({**base, "state": "done", "created": time.time(), "epochs": points, "batches": "[]"}, final)
        return (time.perf_counter() - started) * 1000

    with concurrent.futures.ThreadPoolExecutor(LEARNERS) as pool:
        times = list(pool.map(one, keys))
    report = store.report()
    expected_runs, expected_files = LEARNERS, LEARNERS * (EPOCHS + 1)
    done = sum(1 for key in keys if store.run_rows(key) and store.run_rows(key)[0]["state"] == "done")
    lost = (expected_runs - report["runs"]) + (expected_files - report["files"]) + (expected_runs - done)
    return lost, times


def kept_runs(store, key: str, count: int) -> None:
    """`count` finished runs on the digits, as a learner's earlier visits left them (curves, results)."""
    import numpy as np

    from cnnviz import jobs, models
    from cnnviz.kept_runs import job_to_json, save_results
    from cnnviz.training import Evaluation, TrainJob

    preset, config = jobs.default_setup("digits")
    job = TrainJob("digits", tuple(models.preset(preset, (28, 28, 1))), config, title="mnist-fast on digits")
    rng = np.random.default_rng(0)
    for number in range(1, count + 1):
        run_id = f"{key[:8]}-{number}"
        y = rng.integers(0, 10, 359)
        predictions = np.where(rng.random(359) < 0.9, y, rng.integers(0, 10, 359))
        confusion = np.zeros((10, 10), np.int64)
        np.add.at(confusion, (y, predictions), 1)
        evaluation = Evaluation(
            0.3,
            float((predictions == y).mean()),
            np.diag(confusion) / confusion.sum(1),
            confusion,
            predictions,
            rng.random(359),
        )
        results = store.data / "runs" / run_id / "results.npz"
        save_results(results, evaluation, rng.normal(size=(3, 3, 1, 32)).astype(np.float32))
        epochs = [
            {"epoch": e, "loss": 1 / e, "accuracy": 1 - 1 / (e + 1), "val_loss": 1.1 / e, "val_accuracy": 0.9}
            for e in range(1, 11)
        ]
        batches = [{"epoch": b // 4 + 1, "progress": b / 4, "loss": 1 / (b + 1), "accuracy": 0.9} for b in range(40)]
        store.save_run(
            {
                "id": run_id, "learner": key, "number": number, "title": job.title, "state": "done",
                "message": "Trained 10 epochs in 9.0 s.", "job": job_to_json(job, store), "created": time.time(),
                "finished": time.time(), "params": 93322, "train_seconds": 9.0,
                "test_accuracy": evaluation.test_accuracy,
                "epochs": str(epochs).replace("'", '"'), "batches": str(batches).replace("'", '"'),
            },
            [("results", None, f"runs/{run_id}/results.npz", results.stat().st_size)],
        )  # fmt: skip


DRAWN = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].every(chart => {
    const plot = chart.querySelector(".js-plotly-plot");
    return !!plot && !!plot._fullLayout;
})"""


def reloads(url: str, cookies: dict[str, str], rounds: int) -> dict[str, list[float]]:
    """Reload the Trainer for each learner in turn; seconds from the reload to its runs list drawn."""
    from playwright.sync_api import sync_playwright

    drawn = {"runs": "Run 20: mnist-fast on digits", "none": "No runs yet: press Train."}
    times: dict[str, list[float]] = {name: [] for name in cookies}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pages = {}
        for name, value in cookies.items():
            context = browser.new_context(viewport={"width": 1440, "height": 900})
            context.add_cookies([{"name": "cnnviz_learner", "value": value, "url": url}])
            page = context.new_page()
            page.goto(url + "/trainer?dataset=digits")
            page.get_by_text(drawn[name]).first.wait_for(timeout=180_000)
            pages[name] = page
        for _ in range(rounds + 2):  # two warm-up rounds
            for name, page in pages.items():
                # A person reloads a page they were looking at: the last load's charts drawn, no run
                # going (else the reload waits for those charts too, a second on this page).
                wait_until_idle(page, timeout=120_000)
                page.wait_for_function(DRAWN, timeout=120_000)
                started = time.perf_counter()
                page.reload()
                page.get_by_text(drawn[name]).first.wait_for(timeout=120_000)
                times[name].append(time.perf_counter() - started)
        browser.close()
    return {name: values[2:] for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reloads", type=int, default=10)
    parser.add_argument("--skip-browser", action="store_true")
    args = parser.parse_args()
    from cnnviz.store import Store, learner_key, new_learner_id
    from harness import postgres

    rows, lost_total, saves = [], 0, []
    stores = [("SQLite", None)]
    server = postgres.Postgres() if postgres.binaries() else None
    if server is not None:
        stores.append(("PostgreSQL", server.url("bench")))
    try:
        for name, url in stores:
            folder = tempfile.mkdtemp(prefix="cnnviz-bench-store-")
            store = Store(url, data=folder)
            started = time.perf_counter()
            lost, times = save_class(store)
            wall = time.perf_counter() - started
            lost_total += lost
            saves += times
            rows.append(
                [
                    name,
                    LEARNERS,
                    LEARNERS * (EPOCHS + 2),
                    lost,
                    f"{percentile(times, 50):.0f}",
                    f"{percentile(times, 95):.0f}",
                    f"{wall:.1f} s",
                ]
            )
            store.close()
    finally:
        if server is not None:
            server.close()
    print(table(["Store", "Learners", "Writes", "Rows lost", "Final save p50 ms", "p95 ms", "All done"], rows))
    if server is None:
        print("(PostgreSQL is not installed here: measured on SQLite only)")
    print(f"RESULT store_lost_rows {lost_total}")
    print(f"RESULT store_save_p95_ms {percentile(saves, 95):.0f}")
    if args.skip_browser:
        return

    data = Path(tempfile.mkdtemp(prefix="cnnviz-bench-reload-"))
    store = Store(data=data)
    with_runs, without = new_learner_id(), new_learner_id()
    kept_runs(store, learner_key(with_runs), 20)
    store.close()
    os.environ["CNNVIZ_DATA"], os.environ["CNNVIZ_SPARES"] = str(data), "0"
    process, url = start_app()
    try:
        times = reloads(url, {"runs": with_runs, "none": without}, args.reloads)
    finally:
        process.terminate()
        process.wait(30)
    runs_ms = [t * 1000 for t in times["runs"]]
    none_ms = [t * 1000 for t in times["none"]]
    shown = [
        ["20 kept runs, to the runs list drawn", *(f"{percentile(runs_ms, q):.0f}" for q in (50, 95))],
        ["no runs (baseline, same run)", *(f"{percentile(none_ms, q):.0f}" for q in (50, 95))],
    ]
    print(table(["Trainer reload", "p50 ms", "p95 ms"], shown))
    print(f"RESULT reload_runs_p95_ms {percentile(runs_ms, 95):.0f}")
    print(f"RESULT reload_none_p95_ms {percentile(none_ms, 95):.0f}")
    print(f"RESULT reload_runs_ratio {percentile(runs_ms, 95) / percentile(none_ms, 95):.2f}")


if __name__ == "__main__":
    main()
