"""A seeded random walk over a page of the app in AppTest, as a browser user would click through it.

The walk finds the widgets on every step from AppTest's element tree (nothing about the pages is
written down here), picks one at random and gives it any value the widget allows, then reruns the
app the way the browser would. Step kinds:

- a widget: selectbox, radio, multiselect, select_slider, segmented control / pills, checkbox, toggle,
  slider, number input (bounds included), text (bad text, good text, or bad then good), button,
  download button, and a data editor cell, added row or deleted row. Disabled widgets are skipped,
  and so are file uploaders, cameras and custom components (canvas), which AppTest cannot drive.
  A page's primary button (Train) is pressed at most `PRIMARY_CLICKS` times per walk.
- leave and come back: switch to another page, then back.
- rerun: a full rerun with nothing changed (the "R" key).
- timer: a fragment with `run_every` reruns on its own (the Trainer's live panel).

What AppTest does not do like a browser, and the walk does (see `install`):

- A widget inside an `st.fragment` reruns that fragment alone in the browser, not the whole script;
  AppTest always reruns everything, which hides a whole class of bugs (the lab's `lab_row` crash was
  one). The walk reruns the fragment alone, keeping the rest of the page as it was drawn.
- Options are sent as the browser sends them, as their displayed text, so any `format_func` works.
- AppTest sets `PagesManager.uses_pages_directory` back to None before every run, so every page's
  `run_through_navigation()` saw a fresh server, called `st.rerun()` on every run, and the rerun
  dropped button clicks (why tests/test_app.py opens the Trainer alone). The walk keeps the flag as a
  running server has it after its first run.
- No network: downloads fail at once (the app's offline messages are part of the walk), and an empty
  Keras cache, so the result does not depend on what this machine downloaded before.

The rule, checked after every run:

1. No exception element, ever (Streamlit's own error box: something the app did not handle).
2. Every error box is one of the app's own messages: non-empty, and not a Python exception or
   traceback passed through as text. Any step may show one (a stride too large for the image, an
   ImageNet model offline, a learning rate of 0 are all correct answers to what the user chose).
3. Bad text is forgiven: once a text field gets a good value back, every error box that appeared
   while it held bad text is gone (unless another field still holds bad text).
4. Nothing is lost: leaving the page and coming back, or a rerun with nothing changed, leaves every
   keyed widget on the page with the value it had. Noted as the walk goes and reported at its end, so
   that one lost setting does not hide a crash further on.

A failure prints the seed, the step number and every step taken, to replay it exactly.
"""

from __future__ import annotations

import json
import random
import re
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner_utils.script_requests import RerunData, ScriptRequests
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import element_tree as et
from streamlit.testing.v1 import local_script_runner as lsr

ROOT = Path(__file__).resolve().parent.parent
PAGES = {
    "home": "pages/home.py",
    "lab": "pages/convolution_lab.py",
    "trainer": "pages/trainer.py",
    "inside": "pages/inside.py",
    "predict": "pages/predict.py",
    "lessons": "pages/lessons.py",
    "learned": "pages/learned.py",
    "localize": "pages/localize.py",
}
PRIMARY_CLICKS = 2  # a page's main action (the Trainer's Train starts real training): at most this often

# Text a learner might type into a kernel box (or any text field): the bad ones must be explained, the
# good ones must bring the page back.
BAD_TEXT = ["1 2; 3", "nan", "", "abc", "1 inf 1", "1, 2; 3, 4, 5", ";;", "1/0 1; 1 1", "1e999 0; 0 0", " "]
GOOD_KERNELS = [
    "1 0 -1; 2 0 -2; 1 0 -1",
    "0 -1 0; -1 5 -1; 0 -1 0",
    "1/9 1/9 1/9; 1/9 1/9 1/9; 1/9 1/9 1/9",
    "1",
    "1 2 1",
    "; ".join(" ".join(str((r * 7 + c) % 5 - 2) for c in range(5)) for r in range(5)),
    "; ".join(" ".join("1" if r == c else "0" for c in range(7)) for r in range(7)),
]
KERNEL_LIKE = re.compile(r"^[\s\d;./eE+-]+$")
NUMBERS = [0, 1, -1, 0.5, 2, 10, -10, 1000, 1e6, -1e6]
CELL_NUMBERS = [0, 1, 2, 3, 5, 7, -1, 0.5, 16, 64, None]
# An error box that is a crash in disguise: an exception's own text, or a traceback.
NOT_AN_APP_MESSAGE = re.compile(
    r"^\s*(\w+\.)*\w*(Error|Exception)\b|Traceback \(most recent call last\)|st\.session_state has no key"
)
UNDRIVABLE = {"file_uploader", "camera_input", "audio_input", "chat_input", "feedback", "pagination"}


class WalkFailure(AssertionError):
    pass


# --- making AppTest behave like the browser ------------------------------------------------------


@dataclass
class Frontend:
    """What the browser remembers between runs: the page as drawn (to rerun one fragment inside it),
    which fragment each widget lives in, which fragments rerun on a timer, and the next run's request."""

    messages: list = field(default_factory=list)
    fragment_of: dict[str, str] = field(default_factory=dict)  # widget id -> fragment id ('' outside)
    timers: dict[str, float] = field(default_factory=dict)  # fragment id -> run_every seconds
    next_fragment: str | None = None
    next_auto: bool = False
    overrides: dict[str, WidgetState] = field(default_factory=dict)  # widget id -> state to send

    def remember(self, messages: list, *, fragment_run: bool) -> None:
        self.messages = list(messages)
        if not fragment_run:
            self.timers = {}
        self.fragment_of = {}
        for msg in messages:
            if msg.HasField("auto_rerun"):
                self.timers[msg.auto_rerun.fragment_id] = msg.auto_rerun.interval
            if msg.HasField("stop_auto_rerun"):
                self.timers.pop(msg.stop_auto_rerun.fragment_id, None)
            if not msg.HasField("delta") or msg.delta.WhichOneof("type") != "new_element":
                continue
            element = msg.delta.new_element
            proto = getattr(element, element.WhichOneof("type"))
            element_id = getattr(proto, "id", "")
            if element_id:
                self.fragment_of[element_id] = msg.delta.fragment_id


FRONTEND = Frontend()


def _run_like_the_browser(self, widget_state=None, query_params=None, timeout=3, page_hash="", context_info=None):
    """LocalScriptRunner.run, plus fragment-scoped reruns over the page as it was last drawn."""
    fragment = FRONTEND.next_fragment
    auto = FRONTEND.next_auto
    FRONTEND.next_fragment, FRONTEND.next_auto = None, False
    query_string = urllib.parse.urlencode(query_params, doseq=True) if query_params else ""
    if fragment:
        # The browser keeps everything outside the fragment; the queue's own clear at script start
        # drops only this fragment's old elements, as the server's does.
        for msg in FRONTEND.messages:
            self.forward_msg_queue.enqueue(msg)
    rerun_data = RerunData(
        widget_states=widget_state,
        query_string=query_string,
        page_script_hash=page_hash,
        context_info=context_info,
        fragment_id=fragment,
        is_auto_rerun=auto,
    )
    # LocalScriptRunner starts with a full rerun already requested, which would swallow the fragment's.
    self._requests = ScriptRequests()
    self.request_rerun(rerun_data)
    try:
        if not self._script_thread:
            self.start()
        lsr.require_widgets_deltas(self, timeout)
    finally:
        self.join()
    messages = self.forward_msgs()
    FRONTEND.remember(messages, fragment_run=bool(fragment))
    return et.parse_tree_from_messages(messages)


def _widget_states_with_overrides(original):
    def get_widget_states(self):
        states = original(self)
        if FRONTEND.overrides:
            kept = [w for w in states.widgets if w.id not in FRONTEND.overrides]
            del states.widgets[:]
            states.widgets.extend(kept)
            states.widgets.extend(FRONTEND.overrides.values())
            FRONTEND.overrides = {}
        return states

    return get_widget_states


def install(monkeypatch, tmp_path: Path) -> None:
    """Make AppTest run the app as a browser on a running, offline server would (see the module doc)."""
    import urllib.request

    import keras.src.backend.config as keras_config

    global FRONTEND
    FRONTEND = Frontend()
    monkeypatch.setattr(lsr.LocalScriptRunner, "run", _run_like_the_browser)
    monkeypatch.setattr(
        et.ElementTree, "get_widget_states", _widget_states_with_overrides(et.ElementTree.get_widget_states)
    )
    original_init = PagesManager.__init__

    def pages_manager_init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False  # as after a running server's first st.navigation

    monkeypatch.setattr(PagesManager, "__init__", pages_manager_init)

    def offline(*args, **kwargs):
        raise OSError("offline: the random walk never downloads")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    monkeypatch.setattr(keras_config, "_KERAS_DIR", str(tmp_path / "keras"))


# --- the walk ----------------------------------------------------------------------------------------


def _name(node) -> str:
    label = getattr(node.proto, "label", "")
    return f"{node.type} {node.key or repr(label)}"


def _values(at: AppTest) -> dict[str, Any]:
    """Every keyed widget's value on the page (what a trip elsewhere must not lose)."""
    values = {}
    for node in at:
        if isinstance(node, et.Widget) and node.key and node.type not in ("button", "download_button", *UNDRIVABLE):
            try:
                values[node.key] = node.value
            except Exception:  # a widget AppTest cannot read back (a custom format): not compared
                continue
    return values


class Walk:
    def __init__(self, page: str, seed: int, steps: int, *, timeout: float = 60, keeps_settings: bool = True):
        self.page, self.seed, self.steps = page, seed, steps
        self.rng = random.Random(seed)
        self.keeps_settings = keeps_settings  # rule 4 fails the walk; otherwise losses are only printed
        self.timeout = timeout
        self.trace: list[tuple[int, str]] = []  # (step number, what was done)
        self.now = 0
        self.times: list[tuple[float, str]] = []
        self.primary_clicks = 0
        self.visited = {page}
        self.losses: list[tuple[int, str]] = []  # rule 4, reported once the walk is over
        self.first_text: dict[str, str] = {}  # text widget id -> its value when first seen (the app's own)
        self.bad_now: dict[str, set[str]] = {}  # text widget id holding bad text -> errors seen since
        self.at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)

    # --- running and checking ---

    def note(self, text: str) -> None:
        self.trace.append((self.now, text))

    def fail(self, step: int, problem: str) -> None:
        steps = "\n".join(f"  step {i:4d}: {text}" for i, text in self.trace)
        raise WalkFailure(
            f"random walk on {self.page!r}, seed {self.seed}, failed at step {step}: {problem}\n"
            f"Replay: CNNVIZ_WALK_SEED={self.seed} CNNVIZ_WALK_STEPS={step} "
            f"python -m pytest tests/test_random_walk.py -k {self.page}\nSteps:\n{steps}"
        )

    def run(self, step: int, *, fragment: str | None = None, auto: bool = False) -> None:
        FRONTEND.next_fragment, FRONTEND.next_auto = fragment, auto
        started = time.perf_counter()
        self.at.run()
        self.times.append((time.perf_counter() - started, self.trace[-1][1] if self.trace else "open"))
        self.check(step)

    def errors(self) -> set[str]:
        return {error.value for error in self.at.error}

    def check(self, step: int) -> None:
        if self.at.exception:
            details = [f"{e.message}\n" + "\n".join(e.stack_trace) for e in self.at.exception]
            self.fail(step, "an exception element:\n" + "\n".join(details))
        for message in self.errors():
            if not message.strip() or NOT_AN_APP_MESSAGE.search(message):
                self.fail(step, f"an error box that is not one of the app's messages: {message!r}")
        for errors in self.bad_now.values():
            errors.update(self.errors())

    def open(self) -> None:
        self.note(f"open {self.page}")
        self.run(0)
        if self.page != "home":
            self.at.switch_page(PAGES[self.page])
            self.run(0)

    def walk(self) -> None:
        self.open()
        for step in range(1, self.steps + 1):
            self.now = step
            self.step(step)
        if self.losses:
            found = "\n".join(f"  step {step}: {what}" for step, what in self.losses)
            print(f"\n{self.page}, seed {self.seed}: {len(self.losses)} trips lost what the user had set:\n{found}")
        if self.losses and self.keeps_settings:
            found = "\n".join(f"  step {step}: {what}" for step, what in self.losses)
            self.fail(self.steps, f"{len(self.losses)} trips lost what the user had set:\n{found}")

    # --- choosing a step ---

    def widgets(self) -> list:
        found = []
        for node in self.at:
            if isinstance(node, et.Dataframe) and node.editing_mode != "read_only":
                found.append(node)
            elif isinstance(node, et.Widget) and node.type not in UNDRIVABLE:
                if getattr(node.proto, "disabled", False):
                    continue
                primary = node.type == "button" and getattr(node.proto, "type", "") == "primary"
                if primary and self.primary_clicks >= PRIMARY_CLICKS:
                    continue  # the page's main action (Train): a real, costly job
                found.append(node)
        return found

    def step(self, step: int) -> None:
        roll = self.rng.random()
        widgets = self.widgets()
        if roll < 0.07 or not widgets:
            return self.leave_and_come_back(step)
        if roll < 0.10:
            return self.rerun(step)
        if roll < 0.13 and FRONTEND.timers:
            fragment = self.rng.choice(sorted(FRONTEND.timers))
            self.note("timer: a fragment with run_every reruns")
            return self.run(step, fragment=fragment, auto=True)
        node = self.rng.choice(widgets)
        if isinstance(node, et.Dataframe):
            return self.edit_table(step, node)
        if node.type in ("text_input", "text_area"):
            return self.type_text(step, node)
        self.set_widget(node)
        self.run(step, fragment=FRONTEND.fragment_of.get(node.id) or None)

    def leave_and_come_back(self, step: int) -> None:
        others = [name for name in PAGES if name != self.page]
        other = "home" if self.rng.random() < 0.5 else self.rng.choice(others)
        self.visited.add(other)
        before = _values(self.at)
        self.note(f"leave for {other} and come back")
        self.at.switch_page(PAGES[other])
        self.run(step)
        self.at.switch_page(PAGES[self.page])
        self.run(step)
        self.compare(step, before, "after leaving the page and coming back")

    def rerun(self, step: int) -> None:
        before = _values(self.at)
        self.note("rerun (nothing changed)")
        self.run(step)
        self.compare(step, before, "after a rerun with nothing changed")

    def compare(self, step: int, before: dict, when: str) -> None:
        after = _values(self.at)
        lost = {
            key: (value, after.get(key, "<gone>")) for key, value in before.items() if after.get(key, "<gone>") != value
        }
        if lost:  # noted, and the walk goes on: a crash later on is worth more than stopping here
            self.losses.append((step, f"widget values changed {when} (before, after): {lost}"))

    # --- widgets ---

    def send_options(self, node, chosen: list[str], *, single: bool) -> None:
        state = WidgetState(id=node.id)
        if single:
            state.string_value = chosen[0]
        else:
            state.string_array_value.data[:] = chosen
        FRONTEND.overrides[node.id] = state

    def set_widget(self, node) -> None:
        rng, kind = self.rng, node.type
        if kind in ("selectbox", "radio"):
            options = list(node.options)
            if not options:
                choice = None
            else:
                try:
                    current = node.index
                except (KeyError, ValueError):
                    current = None
                others = [o for i, o in enumerate(options) if i != current] or options
                choice = rng.choice(others)
                self.send_options(node, [choice], single=True)
            self.note(f"{_name(node)} -> {choice!r}")
        elif kind == "multiselect":
            limit = node.max_selections or 3
            chosen = rng.sample(list(node.options), rng.randint(0, min(limit, 3, len(node.options))))
            self.send_options(node, chosen, single=False)
            self.note(f"{_name(node)} -> {chosen!r}")
        elif kind == "select_slider":
            indices = sorted(rng.randrange(len(node.options)) for _ in range(len(node.proto.default) or 1))
            chosen = [node.options[i] for i in indices]
            self.send_options(node, chosen, single=False)
            self.note(f"{_name(node)} -> {chosen!r}")
        elif kind == "button_group":
            options = list(node.options)
            single = node.proto.click_mode == et.ButtonGroupProto.ClickMode.SINGLE_SELECT
            if single:
                chosen = [] if rng.random() < 0.1 else [rng.choice(options)]
            else:
                chosen = rng.sample(options, rng.randint(0, len(options)))
            self.send_options(node, chosen, single=False)
            self.note(f"{_name(node)} -> {chosen!r}")
        elif kind in ("checkbox", "toggle"):
            value = not node.value
            node.set_value(value)
            self.note(f"{_name(node)} -> {value!r}")
        elif kind == "slider":
            self.set_slider(node)
        elif kind == "number_input":
            self.set_number(node)
        elif kind == "color_picker":
            node.set_value(f"#{rng.randrange(1 << 24):06x}")
            self.note(f"{_name(node)} -> {node._value}")
        elif kind in ("button", "download_button"):
            if getattr(node.proto, "type", "") == "primary":
                self.primary_clicks += 1
            node.click()
            self.note(f"click {_name(node)}")
        elif kind == "menu_button":
            node.click_index(rng.randrange(len(node.options)))
            self.note(f"{_name(node)} -> {node._value!r}")
        else:  # a widget AppTest knows and the walk does not: say so, do not pretend
            self.note(f"(left alone: {_name(node)})")

    def pick_number(self, low, high, step, integer: bool):
        rng = self.rng
        if low is not None and high is not None:
            roll = rng.random()
            if roll < 0.25:
                value = low
            elif roll < 0.5:
                value = high
            elif integer:
                value = rng.randint(int(low), int(high))
            else:
                value = round(rng.uniform(low, high), 4)
        else:
            value = rng.choice(NUMBERS)
            if low is not None:
                value = max(value, low) if rng.random() < 0.7 else low
            if high is not None:
                value = min(value, high) if rng.random() < 0.7 else high
        return int(value) if integer else float(value)

    def set_number(self, node) -> None:
        integer = node.proto.data_type == node.proto.INT
        value = self.pick_number(node.min, node.max, node.step, integer)
        node.set_value(value)
        self.note(f"{_name(node)} -> {value!r}")

    def set_slider(self, node) -> None:
        proto = node.proto
        if proto.data_type not in (proto.INT, proto.FLOAT):
            self.note(f"(left alone: {_name(node)}, a date or time slider)")
            return
        integer = proto.data_type == proto.INT
        values = sorted(self.pick_number(proto.min, proto.max, proto.step, integer) for _ in range(len(proto.default)))
        if not integer:  # on the slider's own steps, as dragging gives
            values = [round(proto.min + round((v - proto.min) / proto.step) * proto.step, 10) for v in values]
            values = [min(max(v, proto.min), proto.max) for v in values]
        node.set_value(values[0] if len(values) == 1 else values)
        self.note(f"{_name(node)} -> {node._value!r}")

    def type_text(self, step: int, node) -> None:
        first = self.first_text.setdefault(node.id, node.value or "")
        good = [first] + (GOOD_KERNELS if KERNEL_LIKE.match(first) else [])
        roll = self.rng.random()
        if roll < 0.5:  # bad, then good again: the page must come back
            self.enter_text(step, node, self.rng.choice(BAD_TEXT))
            fresh = next((n for n in self.at if isinstance(n, et.Widget) and n.id == node.id), None)
            if fresh is None:
                return  # the bad text took the field away (a page may do that): nothing to fix it with
            self.enter_text(step, fresh, self.rng.choice(good))
        else:
            self.enter_text(step, node, self.rng.choice(BAD_TEXT if roll < 0.75 else good))

    def enter_text(self, step: int, node, text: str) -> None:
        limit = node.proto.max_chars
        text = text[:limit] if limit else text
        bad = text in BAD_TEXT
        self.note(f"{_name(node)} -> {text!r}" + (" (bad)" if bad else ""))
        node.set_value(text)
        if bad:
            self.bad_now.setdefault(node.id, set())
            self.run(step, fragment=FRONTEND.fragment_of.get(node.id) or None)
            return
        was_bad = self.bad_now.pop(node.id, None)
        self.run(step, fragment=FRONTEND.fragment_of.get(node.id) or None)
        if was_bad:
            still_bad = set().union(*self.bad_now.values()) if self.bad_now else set()
            stuck = (was_bad - still_bad) & self.errors()
            if stuck:
                self.fail(step, f"error boxes stayed after good text came back: {sorted(stuck)}")

    # --- data editors ---

    def edit_table(self, step: int, node) -> None:
        rng = self.rng
        frame = node.value
        config = json.loads(node.proto.columns or "{}")
        columns = [c for c in frame.columns if not config.get(str(c), {}).get("hidden")]
        try:
            state = json.loads(json.dumps(dict(self.at.session_state[node.key]), default=str)) if node.key else {}
        except (KeyError, TypeError, ValueError):
            state = {}
        state = {
            "edited_rows": state.get("edited_rows", {}),
            "added_rows": state.get("added_rows", []),
            "deleted_rows": state.get("deleted_rows", []),
        }
        dynamic = node.editing_mode in ("dynamic", "add", "delete")
        roll = rng.random()
        if dynamic and roll < 0.15 and node.editing_mode != "add":
            row = rng.randrange(len(frame)) if len(frame) else 0
            state["deleted_rows"] = sorted(set(state["deleted_rows"]) | {row})
            what = f"delete row {row}"
        elif dynamic and roll < 0.3 and node.editing_mode != "delete":
            new = {str(c): self.cell_value(frame, c, config.get(str(c), {}), fill=True) for c in columns}
            state["added_rows"].append({k: v for k, v in new.items() if v is not None})
            what = f"add row {state['added_rows'][-1]}"
        elif len(frame) and columns:
            row, column = rng.randrange(len(frame)), rng.choice(columns)
            value = self.cell_value(frame, column, config.get(str(column), {}))
            state["edited_rows"].setdefault(str(row), {})[str(column)] = value
            what = f"row {row} {column!s} = {value!r}"
        else:
            return self.rerun(step)
        FRONTEND.overrides[node.proto.id] = WidgetState(id=node.proto.id, string_value=json.dumps(state))
        self.note(f"data_editor {node.key or ''}: {what}")
        self.run(step, fragment=FRONTEND.fragment_of.get(node.proto.id) or None)

    def cell_value(self, frame, column, config: dict, *, fill: bool = False):
        """Any value the editor lets a person enter in this column."""
        rng = self.rng
        kind = config.get("type_config", {})
        required = config.get("required", False) or fill
        if kind.get("type") == "selectbox":
            options = list(kind.get("options", []))
            return rng.choice(options + ([] if required else [None]))
        if kind.get("type") == "checkbox" or str(frame[column].dtype) == "bool":
            return rng.random() < 0.5
        if kind.get("type") == "number" or frame[column].dtype.kind in "iuf":
            low, high = kind.get("min_value"), kind.get("max_value")
            if low is not None and high is not None:
                return self.pick_number(low, high, kind.get("step"), False)
            value = rng.choice(CELL_NUMBERS)
            if fill and rng.random() < 0.5:
                return None
            return value
        existing = [v for v in frame[column].dropna().unique().tolist() if isinstance(v, str)]
        return rng.choice(existing + ([None] if not required else [])) if existing else None
