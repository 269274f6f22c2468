"""Two app replicas behind HAProxy (deploy/haproxy.cfg) on loopback: a session's upload, pictures
and training all reach its own replica through the balancer, and a replica that stops receives no
new sessions while the other keeps its own.

The sessions speak Streamlit's protocol (harness/stclient.py: the websocket, uploads with the XSRF
token, pictures fetched as an <img> would), with the balancer's affinity cookie as a browser keeps
it. Skipped where haproxy is not installed, except in CI (CNNVIZ_REQUIRE_HAPROXY=1: a failure).
"""

import asyncio
import concurrent.futures
import io
import os
import re
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
from PIL import Image

from harness.replicas import COOKIE, Replicas, haproxy_binary
from harness.stclient import StreamlitSession

UPLOAD = "Upload an image (PNG, JPEG, BMP, WebP or GIF)"
# How long a step may take before the test fails (s). Every wait ends when its event comes, so this
# only ends a broken test; two servers, a balancer and a training run are slow on a loaded machine.
WAIT_S = 300


@pytest.fixture(scope="module")
def replicas():
    if haproxy_binary() is None:
        if os.environ.get("CNNVIZ_REQUIRE_HAPROXY"):
            pytest.fail("CNNVIZ_REQUIRE_HAPROXY is set but haproxy is missing (apt-get install haproxy)")
        pytest.skip("haproxy is not installed (apt-get install haproxy)")
    group = Replicas(2)
    yield group
    group.close()


def picture() -> bytes:
    y, x = np.mgrid[0:64, 0:64]
    buffer = io.BytesIO()
    Image.fromarray(((x + y) % 16 < 8).astype(np.uint8) * 200).save(buffer, format="PNG")
    return buffer.getvalue()


def pinned_to(session: StreamlitSession) -> str:
    return next(cookie.value for cookie in session._cookies if cookie.name == COOKIE)


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


async def lab_session(url: str, query: str = "") -> StreamlitSession:
    """A new visitor opening the Convolution lab (on its bundled sample, unless `query` says otherwise)."""
    session = StreamlitSession(url)
    await session.connect()
    await session.open("convolution_lab", query, timeout=WAIT_S)
    return session


async def until(condition, timeout: float = WAIT_S) -> None:
    """Poll `condition()` (a blocking check) until it holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.2)


def run_apart(coroutine) -> None:
    """Run the clients' coroutine in a thread of its own: in the whole suite the browser tests' Playwright
    (its sync API) keeps an event loop running in this thread, where asyncio.run refuses to start."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coroutine).result()


def test_a_sessions_upload_pictures_and_training_go_through_the_balancer(replicas):
    async def visit():
        session = await lab_session(replicas.url, "src=upload&size=64")
        try:
            replica = pinned_to(session)
            await session.upload(UPLOAD, "mine.png", picture(), "image/png", timeout=WAIT_S)
            shown = await session.wait_for(lambda: session.image_url("convolution"), WAIT_S)
            png = await session.fetch(shown)  # through the balancer, to the session's replica
            assert png.startswith(b"\x89PNG")
            # The picture lives only in that replica: the other one has never heard of it. (Without
            # the affinity cookie, half of these requests would go there and fail.)
            other = replicas.replica_urls[1 if replica == "app1" else 0]
            assert status_of(other + "/" + shown.lstrip("/")) == 404

            await session.navigate("trainer", timeout=WAIT_S)
            await session.set_value("Dataset", string_value="Shapes (synthetic)", timeout=WAIT_S)
            await session.set_value("Epochs", double_value=1, timeout=WAIT_S)
            await session.click("Train", timeout=WAIT_S)
            finished = r"Run 1[^\n]*: (Finished|Reached the target)"
            await session.wait_for(lambda: re.search(finished, session.text()) or "Crashed" in session.text(), WAIT_S)
            assert re.search(finished, session.text()), session.text()[-500:]
            assert pinned_to(session) == replica  # one replica all along
        finally:
            await session.close()

    run_apart(visit())


def test_a_stopped_replica_gets_no_new_sessions_and_the_other_keeps_its_own(replicas):
    async def visit():
        sessions = [await lab_session(replicas.url) for _ in range(4)]
        try:
            assert {pinned_to(s) for s in sessions} == {"app1", "app2"}  # new sessions are spread
            survivors = [s for s in sessions if pinned_to(s) == "app2"]
            replicas.stop_replica(1)
            # Taken out of the rotation after two failed health checks, 2 s apart (later on a busy machine).
            await until(lambda: replicas.replicas_in_rotation() == {"app2"})
            late = await lab_session(replicas.url)
            assert pinned_to(late) == "app2"
            for session in [*survivors, late]:  # the surviving replica's sessions go on as before
                before = session.image_url("convolution")
                assert before
                await session.set_value("Kernel", string_value="Laplacian 4", timeout=WAIT_S)
                after = await session.wait_for(
                    lambda s=session, b=before: (u := s.image_url("convolution")) != b and u, WAIT_S
                )
                assert (await session.fetch(after)).startswith(b"\x89PNG")
            await late.close()
        finally:
            for session in sessions:
                await session.close()

    run_apart(visit())
