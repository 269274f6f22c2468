"""Two app replicas behind HAProxy that share one PostgreSQL server and one data folder, as deploy/
runs them: a learner trains on one replica, that replica stops, and on the other one their run is all
there (listed as finished, with its test results), while another learner sees none of it.

The sessions speak Streamlit's protocol (harness/stclient.py) and carry the learner cookie a browser
would (its value as app_support/common/identity.py writes it). Skipped where haproxy or PostgreSQL is
not installed, except in CI (CNNVIZ_REQUIRE_HAPROXY=1, CNNVIZ_REQUIRE_POSTGRES=1: a failure).
"""

import asyncio
import concurrent.futures
import http.cookiejar
import os
import re

import pytest

from cnnviz.store import new_learner_id
from harness import postgres
from harness.replicas import COOKIE, Replicas, haproxy_binary
from harness.stclient import StreamlitSession

LEARNER_COOKIE = "cnnviz_learner"  # app_support.common.identity.COOKIE
# A quick run: a tiny dense network on 20 scikit-learn digits per class, one epoch.
TRAINER = "dataset=digits&per_class=20&epochs=1&preset=dense-only"
FINISHED = re.compile(r"Run 1[^\n]*: (Finished|Reached the target)")


def required(binary_missing: bool, variable: str, package: str) -> None:
    if binary_missing:
        if os.environ.get(variable):
            pytest.fail(f"{variable} is set but {package} is missing (apt-get install {package})")
        pytest.skip(f"{package} is not installed (apt-get install {package})")


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """Two replicas behind HAProxy on one PostgreSQL database and one data folder."""
    required(haproxy_binary() is None, "CNNVIZ_REQUIRE_HAPROXY", "haproxy")
    required(postgres.binaries() is None, "CNNVIZ_REQUIRE_POSTGRES", "postgresql")
    database = postgres.Postgres()
    env = {"CNNVIZ_DATABASE_URL": database.url("replicas"), "CNNVIZ_DATA": str(tmp_path_factory.mktemp("shared"))}
    try:
        group = Replicas(2, env=env)
    except Exception:
        database.close()
        raise
    yield group
    group.close()
    database.close()


def with_learner(session: StreamlitSession, learner: str) -> StreamlitSession:
    """Give a new session the learner cookie its browser keeps (sent when it connects)."""
    session._cookies.set_cookie(
        http.cookiejar.Cookie(
            0, LEARNER_COOKIE, learner, None, False, "127.0.0.1", False, False, "/", True, False, None, True,
            None, None, {},
        )
    )  # fmt: skip
    return session


async def trainer(url: str, learner: str) -> StreamlitSession:
    session = with_learner(StreamlitSession(url), learner)
    await session.connect()
    await session.open("trainer", TRAINER, timeout=180)
    return session


def pinned_to(session: StreamlitSession) -> str:
    return next(cookie.value for cookie in session._cookies if cookie.name == COOKIE)


def metric(session: StreamlitSession, label: str) -> str:
    """The value of the metric labelled `label` the page shows, or '' while there is none."""
    for _, element in session.elements.values():
        if element.WhichOneof("type") == "metric" and element.metric.label == label:
            return element.metric.body
    return ""


def run_apart(coroutine) -> None:
    """Run the clients' coroutine in a thread of its own (Playwright's sync API, in the same test
    process, keeps an event loop running in this thread, where asyncio.run refuses to start)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coroutine).result()


def test_a_learners_work_is_all_there_on_the_other_replica_when_theirs_stops(shared):
    learner = new_learner_id()

    async def visit():
        session = await trainer(shared.url, learner)
        try:
            replica = pinned_to(session)
            await session.click("Train", timeout=120)
            await session.wait_for(lambda: FINISHED.search(session.text()) or "Crashed" in session.text(), 300)
            assert FINISHED.search(session.text()), session.text()[-800:]
            accuracy = await session.wait_for(lambda: metric(session, "Test accuracy"), 120)
        finally:
            await session.close()

        shared.stop_replica(int(replica.removeprefix("app")))
        # The balancer sends new sessions only to the replica still up (two failed health checks, 2 s
        # apart), the same learner cookie included.
        survivor = "app2" if replica == "app1" else "app1"
        deadline = asyncio.get_running_loop().time() + 60
        while shared.replicas_in_rotation() != {survivor}:
            assert asyncio.get_running_loop().time() < deadline, "HAProxy kept the stopped replica"
            await asyncio.sleep(0.5)

        back = await trainer(shared.url, learner)
        try:
            assert pinned_to(back) == survivor
            await back.wait_for(lambda: FINISHED.search(back.text()), 120)
            # Its results, as the stopped replica showed them: read from the shared database and folder.
            assert await back.wait_for(lambda: metric(back, "Test accuracy"), 120) == accuracy
        finally:
            await back.close()

        stranger = await trainer(shared.url, new_learner_id())
        try:
            await stranger.wait_for(lambda: "No runs yet" in stranger.text(), 120)
            assert "Run 1" not in stranger.text()
        finally:
            await stranger.close()

    run_apart(visit())
