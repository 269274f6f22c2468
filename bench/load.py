"""A full classroom on one server: forty students at once, each in their own session, for three rounds,
on loopback.

Each student: opens the Convolution Lab and uploads a picture of their own, changes the kernel, trains
a small CNN in the Trainer (timed: how long it waited in the queue), opens it in Inside the Network
(the model's prediction and feature maps) and its heatmaps, checks that the model list holds only
their own run, and leaves. The upload, kernel, model and heatmap steps are timed: non-training
interactions while other students' runs train. The server's memory (its process plus the training
workers) is sampled throughout, and again after everyone left and the server let their sessions and
runs go.

Students speak Streamlit's own websocket protocol by default (harness/stclient.py: the same messages a
browser sends, the pictures fetched as an <img> would), because forty Chromium renderers would take
the two cores from the server being measured; `--client browser` runs them as Chromium contexts.

`--replicas N` puts N servers behind HAProxy (deploy/haproxy.cfg, on loopback: harness/replicas.py),
and the students go through the balancer. `--backend ray` starts a Ray cluster on this machine
(its CPUs, no dashboard) and every server trains on it (CNNVIZ_BACKEND=ray, the cluster's address).
Memory is then everything the bench started: servers, workers, HAProxy and Ray's processes.

Run: python bench/load.py [--students 40] [--rounds 3] [--client protocol|browser] [--replicas N]
                          [--backend local|ray]
The servers run with server.disconnectedSessionTTL=10 so that departures are noticed within a
minute instead of three; nothing else differs from `streamlit run app.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import re
import subprocess
import sys
import threading
import time

from common import CHROMIUM, CHROMIUM_ARGS, ROOT, percentile, table

from harness.browser import IMAGE_SRC
from harness.procs import tree_rss_mb

SESSION_TTL_S = 10
# After a round: the app's grace (TTL + 30 s) and one sweep of its departures thread.
DEPARTED_WAIT_S = int(os.environ.get("CNNVIZ_LOAD_SETTLE_S", SESSION_TTL_S + 30 + 15))


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, what: str, timeout: float = 60) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} ended at start (exit code {process.returncode})")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{what} did not start")


class Deployment:
    """The servers the class uses: one `streamlit run` (as today), or N behind HAProxy; training on
    each server's own worker processes, or on one Ray cluster started here for all of them."""

    def __init__(self, replicas: int, backend: str):
        from harness.replicas import Replicas

        self.ray, self.single, self.group = None, None, None
        env = {}
        if backend == "ray":
            import logging

            import ray

            # The cluster's processes are this one's children: they end with ray.shutdown() in close().
            quiet = {"log_to_driver": False, "logging_level": logging.WARNING}
            context = ray.init(address="local", num_cpus=os.cpu_count(), include_dashboard=False, **quiet)
            self.ray = ray
            env = {"CNNVIZ_BACKEND": "ray", "CNNVIZ_RAY_ADDRESS": context.address_info["gcs_address"]}
        ttl = f"--server.disconnectedSessionTTL={SESSION_TTL_S}"
        if replicas == 1 and backend == "local":
            port = free_port()
            command = [
                sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless=true", f"--server.port={port}",
                "--server.address=127.0.0.1", "--browser.gatherUsageStats=false", ttl,
            ]  # fmt: skip
            self.single = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_for_port(port, self.single, "the server")
            self.url = f"http://127.0.0.1:{port}"
        else:
            self.group = Replicas(replicas, env=env, extra_args=(ttl,))
            self.url = self.group.url

    def servers(self) -> list[int]:
        processes = [self.single] if self.single else [p for p in self.group.processes if p is not None]
        return [process.pid for process in processes]

    def memory_mb(self) -> tuple[float, float]:
        """(the servers' own RSS, everything this bench started: servers, their workers, HAProxy
        and Ray's processes), in MB."""
        servers = sum(tree_rss_mb(pid)[0] for pid in self.servers())
        mine, everything = tree_rss_mb(os.getpid())
        return servers, everything - mine

    def close(self) -> None:
        if self.group is not None:
            self.group.close()
        if self.single is not None and self.single.poll() is None:
            self.single.terminate()
            self.single.wait(timeout=30)
        if self.ray is not None:
            self.ray.shutdown()


class MemorySampler(threading.Thread):
    def __init__(self, deployment: Deployment):
        super().__init__(daemon=True)
        self.deployment, self.peak_server, self.peak_total, self.running = deployment, 0.0, 0.0, True

    def run(self) -> None:
        while self.running:
            server, total = self.deployment.memory_mb()
            self.peak_server, self.peak_total = max(self.peak_server, server), max(self.peak_total, total)
            time.sleep(0.5)


def student_picture(index: int) -> bytes:
    """A picture nobody else has: stripes at the student's own angle."""
    import numpy as np
    from PIL import Image

    y, x = np.mgrid[0:96, 0:128]
    angle = index * 0.37
    stripes = (np.sin((x * np.cos(angle) + y * np.sin(angle)) / 4.0) > 0) * 200 + 30
    buffer = io.BytesIO()
    Image.fromarray(stripes.astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


async def new_image(page, prefix: str, previous: str, timeout: float) -> str:
    await page.wait_for_function(
        f"([p, old]) => {{ const s = ({IMAGE_SRC})(p); return s && s !== old; }}", arg=[prefix, previous],
        timeout=timeout,
    )  # fmt: skip
    return await page.evaluate(IMAGE_SRC, prefix)


async def idle(page, timeout: float = 120_000) -> None:
    await page.wait_for_timeout(150)
    await page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout)


async def choose(page, label: str, option) -> None:
    await idle(page)
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first
    await box.scroll_into_view_if_needed()
    await box.click()
    target = (
        page.get_by_role("option", name=option)
        if isinstance(option, re.Pattern)
        else page.get_by_role("option", name=option, exact=True)
    )
    await target.first.click()


async def go_to(page, title: str) -> None:
    """Follow the sidebar link: the same session (a page load would start a new one, without your runs)."""
    await idle(page)
    await page.locator('[data-testid="stSidebarNav"] a', has_text=title).first.click()


async def watch_run(page_text, clicked: float) -> float:
    """Read the Trainer's text (`await page_text()`) every half second until the run ends; returns how
    long it waited in the queue. Raises if it failed or did not finish in 15 minutes."""
    left_queue = None
    while time.monotonic() < clicked + 900:
        text = await page_text()
        if left_queue is None and "in the queue" not in text and re.search(r"Starting|Training, epoch|Finished", text):
            left_queue = time.monotonic()
        if re.search(r"Run \d+[^\n]*: (Finished|Stopped|Reached)", text) or "Test accuracy" in text:
            return (left_queue or time.monotonic()) - clicked
        if re.search(r": (Crashed|Failed|Diverged)", text):
            raise RuntimeError("the run failed: " + text[-300:])
        await asyncio.sleep(0.5)
    raise TimeoutError("the run did not finish in 15 minutes")


async def student(browser, url: str, index: int, result: dict) -> None:
    context = await browser.new_context(viewport={"width": 1300, "height": 1000})
    page = await context.new_page()
    step = "lab"
    try:
        await page.goto(url + "/convolution_lab?src=upload&size=128", timeout=180_000)
        uploader = page.locator('[data-testid="stFileUploader"] input[type=file]')
        await uploader.wait_for(state="attached", timeout=180_000)
        await uploader.set_input_files(
            files=[{"name": f"student{index}.png", "mimeType": "image/png", "buffer": student_picture(index)}]
        )
        before = await new_image(page, "convolution", "", 180_000)
        step = "kernel"
        await idle(page)
        start = time.perf_counter()
        await choose(page, "Kernel", "Laplacian 4")
        await new_image(page, "convolution", before, 60_000)
        result["interactions"] = {"kernel": (time.perf_counter() - start) * 1e3}

        step = "trainer"
        await go_to(page, "Trainer")
        await page.locator("h1", has_text="Trainer").wait_for(timeout=180_000)
        await choose(page, "Dataset", "Shapes (synthetic)")
        await page.get_by_text("3,474 parameters in all.").wait_for(timeout=120_000)
        await idle(page)
        epochs = page.locator('[data-testid="stNumberInput"]').filter(has_text="Epochs").locator("input")
        await epochs.fill("2")
        await epochs.press("Enter")
        await idle(page)
        clicked = time.monotonic()
        await page.get_by_test_id("stBaseButton-primary").filter(has_text="Train").click()
        result["queue_wait_s"] = await watch_run(lambda: page.locator("body").inner_text(), clicked)
        result["train_total_s"] = time.monotonic() - clicked

        step = "inside"
        await go_to(page, "Inside the network")
        await page.get_by_text("Prediction:").wait_for(timeout=180_000)
        await idle(page)
        box = page.locator('[data-testid="stSelectbox"]').filter(has_text="Model").first
        await box.click()
        mine = page.get_by_role("option", name=re.compile(r"\(this session\)"))
        await mine.first.wait_for(timeout=30_000)
        result["own_runs_listed"] = await mine.count()
        await mine.first.click()
        await idle(page)
        await page.get_by_text("Heatmaps (why this class?)").click()
        await new_image(page, "Grad-CAM", "", 180_000)
        result["ok"] = result["own_runs_listed"] == 1
    except Exception as error:  # one student's failure is a result, not the end of the bench
        result["error"] = f"{step}: {type(error).__name__}: {str(error)[:200]}"
        result["ok"] = False
        with contextlib.suppress(Exception):  # what they saw, if the page can still show it
            await page.screenshot(path=ROOT / "artifacts" / f"load_student{index}.png", full_page=True)
    finally:
        await context.close()  # the student leaves


async def student_protocol(url: str, index: int, result: dict) -> None:
    """The same student, driven through Streamlit's own protocol (harness/stclient.py) instead of Chromium."""
    from harness.stclient import StreamlitSession

    session = StreamlitSession(url)
    step = "lab"
    try:
        await session.connect()
        timed = result["interactions"] = {}
        await session.open("convolution_lab", "src=upload&size=128", timeout=180)
        start = time.perf_counter()
        await session.upload(
            "Upload an image (PNG, JPEG, BMP, WebP or GIF)", f"student{index}.png", student_picture(index),
            "image/png", timeout=180,
        )  # fmt: skip
        before = await session.wait_for(lambda: session.image_url("convolution"), 180)
        await session.fetch(before)
        timed["upload"] = (time.perf_counter() - start) * 1e3
        step = "kernel"
        start = time.perf_counter()
        await session.set_value("Kernel", string_value="Laplacian 4", timeout=60)
        after = await session.wait_for(lambda: (u := session.image_url("convolution")) != before and u, 60)
        await session.fetch(after)
        timed["kernel"] = (time.perf_counter() - start) * 1e3

        step = "trainer"
        await session.navigate("trainer", timeout=180)
        await session.set_value("Dataset", string_value="Shapes (synthetic)", timeout=180)
        await session.set_value("Epochs", double_value=2, timeout=120)
        clicked = time.monotonic()
        await session.click("Train", timeout=120)
        result["queue_wait_s"] = await watch_run(session.page_text, clicked)
        result["train_total_s"] = time.monotonic() - clicked

        step = "inside"
        await session.idle(180)
        await session.navigate("inside", timeout=180)
        mine = [option for option in session.options("Model") if "(this session)" in option]
        result["own_runs_listed"] = len(mine)
        start = time.perf_counter()
        await session.set_value("Model", string_value=mine[0], timeout=180)
        await session.wait_for(lambda: "Prediction:" in session.text(), 60)
        timed["model"] = (time.perf_counter() - start) * 1e3
        start = time.perf_counter()
        await session.set_value("View", string_array_value={"data": ["Heatmaps (why this class?)"]}, timeout=180)
        heatmap = await session.wait_for(lambda: session.image_url("Grad-CAM"), 180)
        await session.fetch(heatmap)
        timed["heatmap"] = (time.perf_counter() - start) * 1e3
        result["ok"] = result["own_runs_listed"] == 1
    except Exception as error:  # one student's failure is a result, not the end of the bench
        result["error"] = f"{step}: {type(error).__name__}: {str(error)[:200]}"
        result["ok"] = False
    finally:
        await session.close()  # the student leaves


async def one_round(url: str, students: int, stagger_s: float, client: str) -> list[dict]:
    results = [{"index": i} for i in range(students)]

    async def everyone(visit) -> None:
        async def arrive(i: int) -> None:
            await asyncio.sleep(i * stagger_s)
            await visit(i, results[i])

        await asyncio.gather(*(arrive(i) for i in range(students)))

    if client == "protocol":
        await everyone(lambda i, result: student_protocol(url, i, result))
        return results

    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        await everyone(lambda i, result: student(browser, url, i, result))
        await browser.close()
    return results


def interaction_times(results: list[dict]) -> dict[str, list[float]]:
    """Milliseconds of every timed non-training interaction, by kind (upload, kernel, model, heatmap)."""
    kinds: dict[str, list[float]] = {}
    for result in results:
        for kind, ms in result.get("interactions", {}).items():
            kinds.setdefault(kind, []).append(ms)
    return kinds


def p95(values: list[float]) -> float:
    return percentile(values, 95) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--stagger", type=float, default=0.5, help="seconds between arrivals (default 0.5)")
    parser.add_argument(
        "--client", choices=["protocol", "browser"], default="protocol",
        help="protocol: Streamlit's protocol (harness/stclient.py, default); browser: a Chromium context each",
    )  # fmt: skip
    parser.add_argument("--replicas", type=int, default=1, help="servers behind HAProxy (default 1: no balancer)")
    parser.add_argument("--backend", choices=["local", "ray"], default="local", help="where runs train")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    deployment = Deployment(args.replicas, args.backend)
    url = deployment.url
    print(f"{args.replicas} server(s), training on {args.backend}: {url}", flush=True)
    rows, everyone, after = [], [], []
    try:
        time.sleep(3)
        start_server_mb, start_total_mb = deployment.memory_mb()
        print(f"server started: {start_server_mb:.0f} MB (with workers {start_total_mb:.0f} MB)", flush=True)
        for number in range(1, args.rounds + 1):
            sampler = MemorySampler(deployment)
            sampler.start()
            began = time.perf_counter()
            results = asyncio.run(one_round(url, args.students, args.stagger, args.client))
            took = time.perf_counter() - began
            time.sleep(DEPARTED_WAIT_S)  # sessions released, runs forgotten
            sampler.running = False
            server_mb, total_mb = deployment.memory_mb()
            after.append(server_mb)
            everyone += results
            ok = sum(r.get("ok", False) for r in results)
            for r in results:
                if not r.get("ok"):
                    print(f"round {number} student {r['index']}: {r.get('error', 'saw other runs')}", flush=True)
            waits = [r["queue_wait_s"] for r in results if "queue_wait_s" in r]
            runs = [r["train_total_s"] - r["queue_wait_s"] for r in results if "queue_wait_s" in r]
            clicks = [ms for kind in interaction_times(results).values() for ms in kind]
            rows.append([
                number, f"{ok}/{len(results)}", took, p95(clicks), p95(waits),
                percentile(runs, 50) if runs else float("nan"), sampler.peak_server, sampler.peak_total,
                server_mb, total_mb,
            ])  # fmt: skip
            print(f"round {number} done in {took:.0f} s", flush=True)
    finally:
        deployment.close()
    headers = ["round", "sessions ok", "wall s", "interaction p95 ms", "queue p95 s", "run p50 s", "peak server MB",
               "peak +workers MB", "after server MB", "after +workers MB"]  # fmt: skip
    print(table(headers, rows))
    print(f"memory at start: server {start_server_mb:.0f} MB, with workers {start_total_mb:.0f} MB")
    print()
    kinds = interaction_times(everyone)
    print(table(
        ["interaction (all rounds)", "count", "p50 ms", "p95 ms", "max ms"],
        [[kind, len(ms), percentile(ms, 50), p95(ms), max(ms)] for kind, ms in kinds.items()],
    ))  # fmt: skip
    waits = [r["queue_wait_s"] for r in everyone if "queue_wait_s" in r]
    clicks = [ms for kind in kinds.values() for ms in kind]
    growth = (after[-1] - after[-2]) / after[-2] * 100 if len(after) >= 2 else float("nan")
    print()
    print(f"RESULT sessions_ok {min(int(row[1].split('/')[0]) for row in rows)}")  # the worst round
    print(f"RESULT sessions_total {args.students}")
    print(f"RESULT peak_rss_mb {max(row[7] for row in rows):.0f}")
    print(f"RESULT rss_after_mb {after[-1]:.0f}")
    print(f"RESULT interaction_p95_ms {p95(clicks):.0f}")
    print(f"RESULT queue_wait_p95_s {p95(waits):.1f}")
    print(f"RESULT memory_growth_round3_pct {growth:.1f}")


if __name__ == "__main__":
    main()
