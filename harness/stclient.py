"""A small client for Streamlit's own protocol: what the browser's frontend sends and keeps, minus the
drawing. A load bench on one 2-core machine cannot afford forty Chromium renderers beside the server
it measures; forty of these cost almost nothing, and the server sees the same traffic: a websocket at
/_stcore/stream carrying protobuf BackMsgs (reruns with every widget value the user set, fragment
reruns, the trainer's timed auto-reruns) and ForwardMsgs (deltas), uploads by PUT with the XSRF
token, and the pictures fetched from /media like an <img> tag would.

Loopback only: `StreamlitSession` refuses any host but 127.0.0.1 and localhost.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import time
import urllib.request
import uuid
from collections.abc import Callable
from urllib.parse import urlparse

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

XSRF_COOKIE = "_streamlit_xsrf"
TEXT_KINDS = ("markdown", "alert", "heading", "text", "caption")


class StreamlitSession:
    """One user's session: connect, rerun with widget values, wait for what the page shows."""

    def __init__(self, base_url: str):
        if urlparse(base_url).hostname not in ("127.0.0.1", "localhost"):
            raise ValueError(f"loopback only, not {base_url}")
        self.base_url = base_url.rstrip("/")
        self.session_id = ""
        self.pages: dict[str, str] = {}  # url path -> page script hash
        self.page_hash = ""
        self.query = ""
        self.elements: dict[tuple[int, ...], tuple[str, object]] = {}  # delta path -> (fragment id, Element)
        self.values: dict[str, WidgetState] = {}  # widget id -> the value the user set
        self.auto_reruns: dict[str, float] = {}  # fragment id -> interval (s)
        self.running = False
        self.changed = asyncio.Condition()
        self._finished = {True: 0, False: 0}  # runs finished: {fragment run?: count}
        self._responses: dict[str, object] = {}
        self._cookies = http.cookiejar.CookieJar()
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self._cookies))
        self._socket = None
        self._tasks: list[asyncio.Task] = []

    # --- connection -------------------------------------------------------------------------------

    async def connect(self) -> None:
        await asyncio.to_thread(self._get, "/_stcore/health")  # sets the XSRF cookie, as the frontend's ping
        self._socket = await websockets.connect(
            self.base_url.replace("http", "ws", 1) + "/_stcore/stream",
            subprotocols=["streamlit"],
            additional_headers={"Origin": self.base_url, "Cookie": self._cookie_header()},
            max_size=None,
            open_timeout=120,
            ping_interval=None,
        )
        self._tasks = [asyncio.create_task(self._receive()), asyncio.create_task(self._auto_rerun_loop())]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._socket is not None:
            await self._socket.close()

    # --- what the user does -----------------------------------------------------------------------

    async def open(self, page: str, query: str = "", timeout: float = 120) -> None:
        """Load a page by its URL path, as typing the address would (the first run of a session)."""
        self.query = query
        await self._rerun(page_name=page, timeout=timeout)

    async def navigate(self, page: str, timeout: float = 120) -> None:
        """Follow a sidebar link: the same session, another page."""
        self.values.clear()  # the other page's widgets are gone with it, and their timers
        self.auto_reruns.clear()
        self.query = ""
        await self._rerun(page_hash=self.pages[page], timeout=timeout)

    async def set_value(self, label: str, timeout: float = 120, **value) -> None:
        """Give the widget labelled `label` a value (e.g. string_value="Laplacian 4") and rerun."""
        widget_id, fragment = self.widget(label)
        state = WidgetState(id=widget_id, **value)
        self.values[widget_id] = state
        await self._rerun(fragment_id=fragment, timeout=timeout)

    async def click(self, label: str, timeout: float = 120) -> None:
        widget_id, fragment = self.widget(label)
        await self._rerun(fragment_id=fragment, trigger=WidgetState(id=widget_id, trigger_value=True), timeout=timeout)

    async def upload(self, label: str, name: str, data: bytes, mime: str, timeout: float = 120) -> None:
        """Upload a file into the file uploader labelled `label`, as dropping it there would."""
        widget_id, fragment = self.widget(label)
        request_id = uuid.uuid4().hex
        message = BackMsg()
        message.file_urls_request.request_id = request_id
        message.file_urls_request.file_names.append(name)
        message.file_urls_request.session_id = self.session_id
        await self._socket.send(message.SerializeToString())
        response = await self.wait_for(lambda: self._responses.get(request_id), timeout)
        urls = response.file_urls[0]
        await asyncio.to_thread(self._put_file, urls.upload_url, name, data, mime)
        state = WidgetState(id=widget_id)
        info = state.file_uploader_state_value.uploaded_file_info.add()
        info.name, info.size, info.file_id = name, len(data), urls.file_id
        info.file_urls.CopyFrom(urls)
        self.values[widget_id] = state
        await self._rerun(fragment_id=fragment, timeout=timeout)

    async def fetch(self, url: str) -> bytes:
        """Fetch a picture the page shows, as the browser's <img> does."""
        return await asyncio.to_thread(self._get, url)

    # --- what the page shows ----------------------------------------------------------------------

    def _labelled(self, label: str) -> tuple[str, object]:
        """(fragment id, widget proto) of the widget whose label is `label`."""
        for fragment, element in self.elements.values():
            kind = element.WhichOneof("type")
            proto = getattr(element, kind) if kind else None
            if getattr(proto, "label", None) == label and getattr(proto, "id", ""):
                return fragment, proto
        raise LookupError(f"no widget labelled {label!r} on the page")

    def widget(self, label: str) -> tuple[str, str]:
        """(widget id, fragment id) of the widget whose label is `label`."""
        fragment, proto = self._labelled(label)
        return proto.id, fragment

    def image_url(self, caption_prefix: str) -> str:
        """The URL of the first picture whose caption starts with `caption_prefix` ('' if none)."""
        for _, (_, element) in sorted(self.elements.items()):
            if element.WhichOneof("type") == "imgs":
                for image in element.imgs.imgs:
                    if image.caption.startswith(caption_prefix):
                        return image.url
        return ""

    def text(self) -> str:
        """Every text element's body, in page order."""
        parts = []
        for _, (_, element) in sorted(self.elements.items()):
            kind = element.WhichOneof("type")
            if kind in TEXT_KINDS:
                parts.append(getattr(getattr(element, kind), "body", ""))
            elif kind == "progress":
                parts.append(element.progress.text)
            elif kind == "selectbox":
                parts.extend(element.selectbox.options)
        return "\n".join(parts)

    async def page_text(self) -> str:
        return self.text()

    def options(self, label: str) -> list[str]:
        """The options of the selectbox labelled `label`."""
        return list(self._labelled(label)[1].options)

    async def wait_for(self, predicate: Callable[[], object], timeout: float):
        """Wait until `predicate()` is truthy (checked after every message); returns its value."""
        async with self.changed:
            return await asyncio.wait_for(self.changed.wait_for(predicate), timeout)

    async def idle(self, timeout: float = 120) -> None:
        await self.wait_for(lambda: not self.running, timeout)

    # --- protocol ---------------------------------------------------------------------------------

    async def _rerun(
        self, *, page_name="", page_hash="", fragment_id="", trigger=None, auto=False, timeout: float = 120
    ) -> None:
        message = BackMsg()
        state = message.rerun_script
        state.query_string = self.query
        state.page_script_hash = page_hash or self.page_hash
        state.page_name = page_name
        state.fragment_id = fragment_id
        state.is_auto_rerun = auto
        widgets = {**self.values, **({trigger.id: trigger} if trigger else {})}
        state.widget_states.widgets.extend(widgets.values())
        before = dict(self._finished)
        await self._socket.send(message.SerializeToString())
        if not auto:
            # Wait for a run of the kind asked for, or a full run (which a fragment's st.rerun(scope="app")
            # becomes); a fragment's auto-rerun finishing in between does not end a full run's wait.
            def done() -> bool:
                fragment_done = bool(fragment_id) and self._finished[True] > before[True]
                return (fragment_done or self._finished[False] > before[False]) and not self.running

            await self.wait_for(done, timeout)

    async def _auto_rerun_loop(self) -> None:
        """The frontend's timers for `st.fragment(run_every=...)`."""
        due: dict[str, float] = {}
        while True:
            await asyncio.sleep(0.1)
            now = time.monotonic()
            for fragment, interval in list(self.auto_reruns.items()):
                if now >= due.setdefault(fragment, now + interval):
                    due[fragment] = now + interval
                    await self._rerun(fragment_id=fragment, auto=True)
            for fragment in set(due) - set(self.auto_reruns):
                del due[fragment]

    async def _receive(self) -> None:
        async for raw in self._socket:
            message = ForwardMsg()
            message.ParseFromString(raw)
            self._apply(message)
            async with self.changed:
                self.changed.notify_all()

    def _apply(self, message: ForwardMsg) -> None:
        kind = message.WhichOneof("type")
        if kind == "new_session":
            session = message.new_session
            if session.initialize.session_id:
                self.session_id = session.initialize.session_id
            self.page_hash = session.page_script_hash
            self.pages.update({page.url_pathname: page.page_script_hash for page in session.app_pages})
            fragments = set(message.metadata.run.fragment_ids)
            if fragments:  # a fragment's rerun redraws that fragment alone
                self.elements = {p: e for p, e in self.elements.items() if e[0] not in fragments}
            else:
                self.elements.clear()
                self.auto_reruns.clear()
            self.running = True
        elif kind == "navigation":
            self.pages.update({page.url_pathname: page.page_script_hash for page in message.navigation.app_pages})
            if message.navigation.page_script_hash:
                self.page_hash = message.navigation.page_script_hash
        elif kind == "delta":
            delta = message.delta
            if delta.WhichOneof("type") == "new_element":
                self.elements[tuple(message.metadata.delta_path)] = (delta.fragment_id, delta.new_element)
        elif kind == "script_finished":
            if message.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                self.running = False
                self._finished[bool(message.metadata.run.fragment_ids)] += 1
        elif kind == "auto_rerun":
            self.auto_reruns[message.auto_rerun.fragment_id] = message.auto_rerun.interval
        elif kind == "stop_auto_rerun":
            self.auto_reruns.pop(message.stop_auto_rerun.fragment_id, None)
        elif kind == "file_urls_response":
            self._responses[message.file_urls_response.response_id] = message.file_urls_response

    # --- HTTP (blocking; called in a thread) ------------------------------------------------------

    def _absolute(self, url: str) -> str:
        return url if url.startswith("http") else self.base_url + "/" + url.lstrip("/")

    def _get(self, url: str) -> bytes:
        with self._opener.open(self._absolute(url), timeout=120) as response:
            return response.read()

    def _cookie_header(self) -> str:
        return "; ".join(f"{cookie.name}={cookie.value}" for cookie in self._cookies)

    def _put_file(self, url: str, name: str, data: bytes, mime: str) -> None:
        boundary = uuid.uuid4().hex
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                f"Content-Type: {mime}\r\n\r\n"
            ).encode()
            + data
            + f"\r\n--{boundary}--\r\n".encode()
        )
        xsrf = next((cookie.value for cookie in self._cookies if cookie.name == XSRF_COOKIE), "")
        request = urllib.request.Request(
            self._absolute(url),
            data=body,
            method="PUT",
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}", "X-Xsrftoken": xsrf,
                     "Origin": self.base_url},
        )  # fmt: skip
        with self._opener.open(request, timeout=120) as response:
            if response.status not in (200, 204):
                raise RuntimeError(f"upload refused: HTTP {response.status}")
