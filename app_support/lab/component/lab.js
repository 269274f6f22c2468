// The Convolution lab in the learner's browser (a Streamlit Components v2 component, no iframe).
//
// Mounted twice by app_support/lab/live.py with the same code, so both mounts share this module:
//   - with bytes: the picture (header + uint8 pixels), sent once per picture (Streamlit's message
//     cache sends an unchanged element as a reference), kept in `pictures` below;
//   - with JSON: the lab itself: the kernel editor, the settings, every stage's picture and the
//     arithmetic of the pixel under the pointer, computed here (arith.js: small work in the pointer's
//     own event, larger work in a Worker, worker.js, so the page never freezes).
// Settings reach Python when a change ends (a released drag, a chosen option, a click on a picture),
// as the component state `settings`; while a button is held nothing is sent.
//
// Served as files by Streamlit's component route (live.py `module_url`, a folder named after the
// files' digest): arith.js and worker.js are the ones beside this file, of the same version.
const arithReady = import(new URL("./arith.js", import.meta.url).href);
// Up to this many multiply-adds the pipeline runs on the page's thread (Lab.quick).
const QUICK_MULTIPLY_ADDS = 3_000_000;
const workerUrl = new URL("./worker.js", import.meta.url).href;
const NOT_LOADED = "The lab's code did not load from the server, so nothing can be computed: reload the page.";

// --- the picture, shared by the two mounts ------------------------------------------------------------

const pictures = new Map(); // id -> { id, h, w, c, pixels }
const waiting = new Set(); // instances waiting for a picture

function readPicture(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = String.fromCharCode(bytes[0], bytes[1], bytes[2], bytes[3]);
  if (magic !== "CNVZ") return null;
  const h = view.getUint32(4, true),
    w = view.getUint32(8, true),
    c = view.getUint32(12, true),
    idLength = view.getUint32(16, true);
  const id = new TextDecoder().decode(bytes.subarray(20, 20 + idLength));
  const start = 20 + idLength;
  return { id, h, w, c, pixels: bytes.slice(start, start + h * w * c) };
}

// A number as a learner types it: 0.5, -2, 1,5 or a fraction such as 1/9, from -1000000 to 1000000
// (what Lab.refuse says); NaN for anything else.
function typedNumber(text) {
  const t = String(text).trim().replace(",", ".");
  const fraction = /^([-+]?\d*\.?\d+)\s*\/\s*(\d*\.?\d+)$/.exec(t);
  const value = fraction ? Number(fraction[1]) / Number(fraction[2]) : t === "" ? NaN : Number(t);
  return Math.abs(value) <= 1e6 ? value : NaN;
}

// While a button is held: the moves and the release are heard on the window, so they still arrive
// when the element that was pressed is redrawn under the pointer (a reply from Python rebuilds it).
function held(move, up, on) {
  const act = on ? "addEventListener" : "removeEventListener";
  window[act]("pointermove", move);
  window[act]("pointerup", up);
  window[act]("pointercancel", up);
}

// --- small DOM helpers ------------------------------------------------------------------------------

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

const PARAMS = [
  "kernel",
  "custom",
  "weight",
  "norm",
  "stride",
  "pad",
  "bias",
  "post",
  "pool",
  "psize",
  "pstride",
  "display",
  "scale",
  "row",
  "col",
  "channel",
];
const MAX_NUMBERED = 9; // app_support.lab.arithmetic.MAX_NUMBERED: larger grids are colours
const CHANNEL_NAMES = "RGB";

function ink(r, g, b) {
  return 0.299 * r + 0.587 * g + 0.114 * b > 140 ? "#000" : "#fff";
}

// --- the lab ----------------------------------------------------------------------------------------

class Lab {
  constructor(root) {
    this.root = root;
    this.A = null;
    this.data = null;
    this.settings = null; // URL-style values: { kernel, custom, weight, ... }
    this.base = null; // the 2-D kernel being edited: { values: Float64Array, kh, kw }
    this.version = 0; // commits sent to Python
    this.dirty = false; // local changes not yet sent
    this.picture = null;
    this.result = null;
    this.seq = 0;
    this.shownSeq = 0; // the newest request whose answer is on screen: a slower, older one never replaces it
    this.busy = false;
    this.refused = ""; // what the learner typed and the lab refused, said until their next change
    this.pending = null;
    this.events = []; // [seq, timeStamp, kind] of input events waiting for their picture
    this.hover = null; // [row, col] of the convolution under the pointer
    this.pointerAt = null; // {clientX, clientY} of the pointer over a picture, until it leaves
    this.carried = false; // the pinned pixel was carried to a new output's shape: Python is told
    this.timings = { scrub: [], hover: [], compute: [] };
    this.build();
    this.worker = new Worker(workerUrl, { type: "module" });
    this.worker.onmessage = (event) => this.received(event.data);
    this.worker.onerror = (event) => this.failed(event.message);
  }

  // Its code could not be loaded (worker.js or arith.js: a server restarted, a lost connection): say so
  // instead of 'Computing…' for ever.
  failed(detail) {
    this.busy = false;
    this.broken = true;
    clearTimeout(this.busyTimer);
    this.nodes.status.classList.remove("working");
    const text = detail ? `${NOT_LOADED} (${detail})` : NOT_LOADED;
    if (this.node.hidden) {
      // nothing shown yet (arith.js is missing): the note stands alone, as the loader's does
      if (!this.root.querySelector(".cnv-load-error")) this.root.append(el("p", { class: "cnv-load-error", text }));
      return;
    }
    this.nodes.error.textContent = text;
    this.nodes.error.hidden = false;
  }

  // --- what Python sends ---

  update(data) {
    const first = this.data === null;
    this.data = data;
    this.locks = { fixed: new Set(data.locks.fixed), hidden: new Set(data.locks.hidden) };
    // Python's settings win unless this lab has changes Python has not seen yet.
    if (first || (!this.dirty && !this.dragging && data.echo >= this.version)) {
      this.version = Math.max(this.version, data.echo);
      this.settings = { ...data.settings };
      // the shape Python's pixel was chosen in: the pixel is carried from there to this output's shape
      this.pickShape = data.pick_shape ? [...data.pick_shape] : null;
      this.base = this.kernelFromSettings();
    }
    this.problem = data.problem || "";
    // a cell held by the pointer, or typed in, is not rebuilt under it
    this.syncControls(!this.dragging && !this.typingIn(this.nodes.kernelGrid));
    this.node.hidden = false; // shown once a teacher's locks are on its controls
    const picture = pictures.get(data.image_id);
    if (picture) this.usePicture(picture);
    else waiting.add(this);
    this.compute();
  }

  kernelFromSettings() {
    const name = this.settings.kernel;
    const source = name === "custom" ? this.data.custom_kernel : this.data.gallery[name];
    if (!source) return this.base;
    return { kh: source.length, kw: source[0].length, values: Float64Array.from(source.flat()) };
  }

  usePicture(picture) {
    waiting.delete(this);
    if (this.picture && this.picture.id === picture.id) return;
    this.picture = picture;
    const { id, h, w, c, pixels } = picture;
    this.worker.postMessage({ type: "image", id, h, w, c, pixels });
    this.drawInput();
  }

  // The kernel as the worker applies it: (kh, kw) or one slice per channel (kh, kw, 3).
  kernelRequest() {
    const { kh, kw, values } = this.base;
    const slices = this.data.colour && this.data.slices;
    if (!slices) return { base: values, kh, kw, kc: 1 };
    const base = new Float64Array(kh * kw * 3);
    slices.forEach((choice, k) => {
      let source = values;
      if (choice === "zeros") source = null;
      else if (choice !== "kernel") {
        const named = this.data.gallery[choice];
        source = named && named.length === kh && named[0].length === kw ? named.flat() : values;
      }
      for (let i = 0; i < kh * kw; i++) base[i * 3 + k] = source ? source[i] : 0;
    });
    return { base, kh, kw, kc: 3 };
  }

  labSettings() {
    const s = this.settings;
    return {
      stride: Number(s.stride),
      padding: s.pad,
      activation: s.post,
      bias: Number(s.bias),
      pool: s.pool,
      pool_size: Number(s.psize),
      pool_stride: Number(s.pstride),
      mode: this.data.conv_mode,
    };
  }

  // --- computing: the newest request wins; one at a time in the worker ---

  compute(event = null, kind = "scrub") {
    if (!this.picture || !this.base) return;
    const seq = ++this.seq;
    if (event) this.events.push([seq, event.timeStamp, kind]);
    this.pending = {
      type: "run",
      seq,
      id: this.picture.id,
      kernel: this.kernelRequest(),
      weight: Number(this.settings.weight),
      normalize: this.settings.norm === "1",
      settings: this.labSettings(),
      display: this.settings.display,
      sharedScale: this.settings.scale === "1",
      lut: this.data.lut,
      informative: Number(this.settings.row) < 0,
    };
    if (this.busy || !this.quick()) {
      this.flush();
      return;
    }
    // Small work is done here, in the pointer's own event, so the new picture is drawn in the frame
    // the event came in: a message to the worker and back made it wait for the next one.
    const request = this.pending;
    this.pending = null;
    const { h, w, c } = this.picture;
    this.show(this.A.labAnswer(request, { h, w, c, planes: this.planes() }));
  }

  // Whether the pipeline is a few milliseconds here: the convolution's multiply-adds, a 512x512 gray
  // picture with a 3x3 kernel (2.4 million) is; a colour one with a 7x7 kernel (38 million) goes to
  // the worker, so the page never waits on it.
  quick() {
    const { h, w, c } = this.picture;
    const { kh, kw } = this.base;
    return h * w * c * kh * kw <= QUICK_MULTIPLY_ADDS;
  }

  flush() {
    if (this.busy || !this.pending || this.broken) return;
    this.busy = true;
    this.worker.postMessage(this.pending);
    this.pending = null;
    clearTimeout(this.busyTimer);
    // Say that it is working only when it takes long enough to notice (a 15x15 kernel on 512x512 RGB).
    this.busyTimer = setTimeout(() => this.nodes.status.classList.add("working"), 150);
  }

  received(answer) {
    this.busy = false;
    clearTimeout(this.busyTimer);
    if (!this.pending) this.nodes.status.classList.remove("working");
    if (answer.missing) {
      this.flush();
      return;
    }
    if (answer.seq > this.shownSeq && (answer.seq === this.seq || !this.pending)) this.show(answer);
    this.flush();
  }

  show(answer) {
    this.shownSeq = answer.seq;
    this.nodes.error.textContent = (answer.ok ? this.refused || this.problem : answer.problem) || (this.broken ? NOT_LOADED : "");
    this.nodes.error.hidden = !this.nodes.error.textContent;
    if (!answer.ok) {
      this.nodes.keptNote.hidden = !this.result;
      return;
    }
    this.nodes.keptNote.hidden = true;
    // A pointer that stays put is over another pixel of an output of another shape (a 7x7 kernel's is 4
    // pixels smaller): the same place on the picture, as a pinned pixel is carried (`pinned`).
    const [oh, ow] = this.result ? this.convShape() : [0, 0];
    const { h, w } = answer.stages[1];
    if (this.hover && (oh !== h || ow !== w)) this.hover = this.A.rescaledPixel(this.hover, [oh, ow], [h, w]);
    this.result = answer;
    this.timings.compute.push(answer.ms);
    this.drawStages();
    this.drawArithmetic();
    this.afterFrame(answer.seq);
    // The pictures can have moved under a pointer that stayed put (a 7x7 grid is taller, a longer
    // description wraps to another line), and the browser tells nobody until the mouse moves: once the
    // page is laid out, read again what is under it.
    if (this.pointerAt) requestAnimationFrame(() => this.rereadPointer());
    // A pinned pixel carried to a new output's shape: the link says where it now is (a reload or a
    // shared link would otherwise read the old output's row and column in the new one).
    if (this.carried) {
      this.carried = false;
      if (!this.dirty && !this.dragging) this.commit();
    }
  }

  rereadPointer() {
    if (!this.pointerAt || !this.result || this.pixelLocked()) return;
    const { clientX: x, clientY: y } = this.pointerAt;
    let pixel = null;
    for (let index = 0; index < (this.figures || []).length && !pixel; index++) {
      const f = this.figures[index];
      if (!f || f.figure.hidden || (index > 0 && index >= this.result.stages.length)) continue;
      const box = f.canvas.getBoundingClientRect();
      if (x >= box.left && x < box.right && y >= box.top && y < box.bottom) pixel = this.pixelAt(index, this.pointerAt);
    }
    const same = pixel && this.hover && pixel[0] === this.hover[0] && pixel[1] === this.hover[1];
    if (same || (!pixel && !this.hover)) return;
    this.hover = pixel;
    this.drawArithmetic();
  }

  afterFrame(seq) {
    requestAnimationFrame(() => {
      const now = performance.now();
      const done = this.events.filter(([s]) => s <= seq);
      this.events = this.events.filter(([s]) => s > seq);
      for (const [, stamp, kind] of done) this.timings[kind].push(now - stamp);
    });
  }

  // --- sending settings to Python when a change ends ---

  commit() {
    if (this.destroyed) return;
    this.dirty = false;
    this.version += 1;
    const values = {};
    for (const name of PARAMS) if (name in this.settings) values[name] = String(this.settings[name]);
    if (this.pickShape) values.pick_shape = this.pickShape.join("x");
    this.setStateValue("settings", { version: this.version, values });
  }

  // The pixel being explained stays put while the learner edits: until then it was the one where the
  // kernel answers most, which would jump about with every change.
  holdPixel() {
    if (this.result && Number(this.settings.row) < 0 && this.result.informative) {
      [this.settings.row, this.settings.col] = this.result.informative.map(String);
      this.pickShape = this.convShape();
    }
  }

  change(name, value, { commit = true, event = null } = {}) {
    if (name !== "row" && name !== "col") {
      this.holdPixel();
      this.refused = "";
    }
    this.settings[name] = value;
    this.dirty = true;
    this.syncControls();
    this.compute(event);
    if (commit) this.commit();
  }

  // The base kernel was edited in place: it becomes the custom kernel, written as text.
  kernelEdited(event, commit) {
    this.holdPixel();
    this.refused = "";
    const { kh, kw, values } = this.base;
    const rows = [];
    for (let u = 0; u < kh; u++) {
      const row = [];
      for (let v = 0; v < kw; v++) row.push(this.A.plainNumber(values[u * kw + v], 6));
      rows.push(row.join(" "));
    }
    this.settings.kernel = "custom";
    this.settings.custom = rows.join("; ");
    this.dirty = true;
    this.syncControls(false);
    this.compute(event, "scrub");
    if (commit) this.commit();
  }

  // A typed value that is not taken: said where the lab's problems are said, until the next change (a
  // reply from Python to an earlier change, drawn meanwhile, keeps saying it).
  refuse(text, what) {
    const shown = text.trim() ? `"${text.trim()}"` : "An empty box";
    this.refused =
      `${shown} is not a ${what} the lab can use: type a number from -1000000 to 1000000, such as 0.5, -2 or 1/9.`;
    this.nodes.error.textContent = this.refused;
    this.nodes.error.hidden = false;
  }

  locked(name) {
    return this.locks.fixed.has(name) || this.locks.hidden.has(name);
  }

  // --- building the page ---

  build() {
    for (const note of this.root.querySelectorAll(".cnv-load-error")) note.remove(); // the loader's, from a failed try
    const n = (this.nodes = {});
    n.status = el("div", { class: "cnv-status", role: "status" }, el("span", { class: "cnv-spinner" }), "Computing…");
    n.error = el("div", { class: "cnv-error", hidden: true });
    n.keptNote = el("div", {
      class: "cnv-note",
      hidden: true,
      text: "Below: the outputs of your last good kernel and settings, kept until the problem above is fixed.",
    });
    // 2. Kernel
    n.kernelSelect = el("select", { "aria-label": "Kernel", onchange: (e) => this.chooseKernel(e.target.value) });
    n.weight = this.numberField("weight", "Weight", "Multiplies the kernel", 0.1);
    n.norm = el("input", {
      type: "checkbox",
      "aria-label": "Normalise",
      onchange: (e) => this.change("norm", e.target.checked ? "1" : "0"),
    });
    n.normLabel = el("label", { class: "cnv-check", title: "Divide by the sum of the entries (or the positive ones)" }, n.norm, "Normalise");
    n.bias = this.numberField("bias", "Bias", "Added to every output, as a Conv2D layer's bias", 1);
    n.kernelGrid = el("div", { class: "cnv-kernel-grid", role: "grid", "aria-label": "Kernel weights" });
    n.kernelInfo = el("div", { class: "cnv-kernel-info" });
    n.kernelHelp = el("div", {
      class: "cnv-help",
      text: "Drag a number up or down, or scroll on it; click to type one.",
    });
    // 3. Settings
    n.stride = this.selectField("stride", "Stride", [1, 2, 3, 4, 5, 6, 7, 8].map((v) => [String(v), String(v)]),
      "How far the kernel moves between outputs");
    n.pad = this.selectField("pad", "Padding", [["valid", "VALID"], ["same", "SAME"]],
      "VALID: the kernel stays inside the image (the output shrinks). SAME: zeros around the edge keep the size (with stride 1).");
    n.post = this.selectField("post", "Activation", [], "");
    n.pool = this.selectField("pool", "Pooling", [], "Max keeps the largest value of each window, average their mean; global average pooling keeps one number per map.");
    n.psize = this.selectField("psize", "Pool size", [2, 3, 4, 5, 6, 7, 8].map((v) => [String(v), `${v}x${v}`]), "");
    n.pstride = this.selectField("pstride", "Pool stride", [], "How far the pooling window moves");
    n.display = this.selectField("display", "Show outputs", [], "Automatic: signed colours for kernels whose weights sum to 0, a picture for the others.");
    n.scale = el("input", {
      type: "checkbox",
      "aria-label": "One colour scale for every stage",
      onchange: (e) => this.change("scale", e.target.checked ? "1" : "0"),
    });
    n.scaleLabel = el("label", { class: "cnv-check", title: "Draw every signed stage on the convolution's colour scale, so colours compare across stages" }, n.scale, "One colour scale");
    n.stages = el("div", { class: "cnv-stages" });
    n.note = el("div", { class: "cnv-caption" });
    n.shapes = el("div", { class: "cnv-shapes" });
    n.formulas = el("div", { class: "cnv-caption" });
    // The arithmetic
    n.arithTitle = el("div", { class: "cnv-arith-title" });
    n.arithHint = el("div", { class: "cnv-caption" });
    n.channelChoice = el("div", { class: "cnv-channel", role: "radiogroup", "aria-label": "Channel" });
    n.grids = el("div", { class: "cnv-grids" });
    n.sums = el("div", { class: "cnv-sums" });
    n.poolBox = el("div", { class: "cnv-pool-box" });
    this.root.append(
      el(
        "div",
        { class: "cnv-lab" },
        // The kernel's grid beside its controls and the settings: the pictures come into view sooner.
        el(
          "section",
          { class: "cnv-top" },
          el("div", { class: "cnv-kernel-side" }, n.kernelGrid, n.kernelHelp),
          el(
            "div",
            { class: "cnv-controls" },
            el("div", { class: "cnv-row" }, this.labelled("Kernel", n.kernelSelect, "kernel"), n.weight.box, n.bias.box, n.normLabel),
            n.kernelInfo,
            el("div", { class: "cnv-row cnv-settings" }, n.stride.box, n.pad.box, n.post.box, n.pool.box, n.psize.box, n.pstride.box, n.display.box, n.scaleLabel),
          ),
        ),
        n.error,
        n.keptNote,
        // The status lies over the pictures' corner: shown in the page's flow, it pushed the pictures a
        // line down for every slow computation and back up after it (under a pointer that stayed put).
        el("div", { class: "cnv-stage-area" }, n.status, n.stages),
        n.note,
        n.shapes,
        n.formulas,
        el(
          "section",
          { class: "cnv-arith", tabindex: "0", "aria-label": "The arithmetic of one output pixel" },
          n.arithTitle,
          n.arithHint,
          n.channelChoice,
          n.grids,
          n.sums,
          n.poolBox,
        ),
      ),
    );
    this.node = this.root.querySelector(".cnv-lab");
    // Hidden until Python's first settings and locks arrive (arith.js loads first): a locked control
    // could otherwise be changed in the meantime.
    this.node.hidden = true;
    this.node.addEventListener("keydown", (e) => this.key(e));
  }

  // Gone from the page: its worker stops, its elements go, and it sends Python nothing more.
  destroy() {
    this.destroyed = true;
    this.worker.terminate();
    this.node.remove();
    waiting.delete(this);
    registry.labs.delete(this);
    if (labs.get(this.root) === this) labs.delete(this.root);
  }

  labelled(text, control, param) {
    const box = el("label", { class: "cnv-field", "data-param": param }, el("span", { text }), control);
    return box;
  }

  numberField(param, text, help, step) {
    const input = el("input", { type: "text", inputmode: "decimal", "aria-label": text, title: help });
    const handle = el("span", { class: "cnv-scrub", title: `Drag left or right to change the ${text.toLowerCase()}`, text });
    const box = el("label", { class: "cnv-field", "data-param": param }, handle, input);
    const typed = () => {
      const value = typedNumber(input.value);
      if (Number.isNaN(value)) {
        this.refuse(input.value, text.toLowerCase());
        input.value = this.settings[param]; // the field shows the value the pictures use
        return;
      }
      this.change(param, this.A.plainNumber(value, 6));
    };
    input.addEventListener("change", typed);
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") input.blur();
    });
    // Drag the label: the output follows while the button is held; Python hears of it on release.
    handle.addEventListener("pointerdown", (e) => {
      if (this.locked(param)) return;
      e.preventDefault();
      handle.setPointerCapture(e.pointerId);
      const start = Number(this.settings[param]);
      const x0 = e.clientX;
      this.dragging = true;
      const move = (m) => {
        const value = Math.round((start + Math.round((m.clientX - x0) / 4) * step) * 1000) / 1000;
        if (String(value) !== String(this.settings[param])) this.change(param, String(value), { commit: false, event: m });
      };
      const up = () => {
        held(move, up, false);
        this.dragging = false;
        if (this.dirty) this.commit();
      };
      held(move, up, true);
    });
    // Scroll on it: one step a notch; Python hears of it once the scrolling stops.
    const wheel = (e) => {
      if (this.locked(param)) return;
      e.preventDefault();
      const value = Math.round((Number(this.settings[param]) + (e.deltaY < 0 ? step : -step)) * 1000) / 1000;
      this.change(param, String(value), { commit: false, event: e });
      clearTimeout(this.wheelTimer);
      this.wheelTimer = setTimeout(() => this.commit(), 400);
    };
    handle.addEventListener("wheel", wheel, { passive: false });
    input.addEventListener("wheel", wheel, { passive: false });
    return { box, input };
  }

  selectField(param, text, options, help) {
    const select = el("select", { "aria-label": text, title: help || null, onchange: (e) => this.change(param, e.target.value) });
    this.fillOptions(select, options);
    return { box: this.labelled(text, select, param), select };
  }

  fillOptions(select, options) {
    const key = JSON.stringify(options);
    if (select.dataset.options === key) return;
    select.dataset.options = key;
    select.replaceChildren(...options.map(([value, label]) => el("option", { value, text: label })));
  }

  // --- keeping the controls in step with the settings and the locks ---

  syncControls(rebuildGrid = true) {
    const n = this.nodes,
      s = this.settings,
      d = this.data;
    if (!s) return;
    const names = Object.keys(d.gallery);
    this.fillOptions(n.kernelSelect, [...names.map((k) => [k, k[0].toUpperCase() + k.slice(1)]), ["custom", "Custom"]]);
    n.kernelSelect.value = s.kernel;
    // A field the learner is typing in keeps what they typed: a reply from Python meanwhile wrote the
    // old value back, and their Enter then changed nothing.
    if (!this.typingIn(n.weight.input)) n.weight.input.value = s.weight;
    if (!this.typingIn(n.bias.input)) n.bias.input.value = s.bias;
    n.norm.checked = s.norm === "1";
    n.scale.checked = s.scale === "1";
    this.fillOptions(n.post.select, Object.entries(d.labels.post));
    this.fillOptions(n.pool.select, Object.entries(d.labels.pool));
    this.fillOptions(n.display.select, Object.entries(d.labels.display));
    const size = Number(s.psize);
    this.fillOptions(n.pstride.select, [
      ["0", `${size} (= size)`],
      ...[1, 2, 3, 4, 5, 6, 7, 8].filter((v) => v !== size).map((v) => [String(v), String(v)]),
    ]);
    for (const [param, field] of [["stride", n.stride], ["pad", n.pad], ["post", n.post], ["pool", n.pool], ["psize", n.psize], ["pstride", n.pstride], ["display", n.display]]) {
      field.select.value = String(s[param]);
    }
    const poolOff = s.pool === "none" || s.pool === "gap";
    n.psize.select.disabled = poolOff || this.locks.fixed.has("psize");
    n.pstride.select.disabled = poolOff || this.locks.fixed.has("pstride");
    // A teacher's link: fixed controls are read-only, hidden ones are not drawn (their values apply).
    for (const box of this.root.querySelectorAll("[data-param]")) {
      const param = box.dataset.param;
      box.hidden = this.locks.hidden.has(param);
      if (this.locks.fixed.has(param)) {
        box.classList.add("cnv-fixed");
        for (const control of box.querySelectorAll("input, select")) control.disabled = true;
      }
    }
    for (const [param, label] of [["norm", n.normLabel], ["scale", n.scaleLabel]]) {
      label.hidden = this.locks.hidden.has(param);
      label.querySelector("input").disabled = this.locks.fixed.has(param);
    }
    const kernelLocked = this.locked("kernel") || this.locked("custom");
    n.kernelSelect.disabled = this.locks.fixed.has("kernel");
    n.kernelHelp.hidden = kernelLocked;
    const description = d.descriptions[s.kernel];
    n.kernelInfo.textContent = "";
    if (description) n.kernelInfo.append(el("strong", { text: s.kernel[0].toUpperCase() + s.kernel.slice(1) }), `: ${description}`);
    else n.kernelInfo.append(el("strong", { text: "Your kernel" }), ": its numbers are in the link, so a shared link shows it too.");
    if (rebuildGrid) this.buildKernelGrid();
    else this.refreshKernelGrid();
  }

  chooseKernel(name) {
    this.settings.kernel = name;
    this.base = this.kernelFromSettings();
    this.change("kernel", name);
    this.buildKernelGrid();
  }

  // --- the kernel grid, edited where it is drawn ---

  buildKernelGrid() {
    const grid = this.nodes.kernelGrid;
    if (!this.base) return;
    const { kh, kw } = this.base;
    const editable = !(this.locked("kernel") || this.locked("custom"));
    grid.replaceChildren();
    grid.style.gridTemplateColumns = `repeat(${kw}, minmax(0, 1fr))`;
    this.nodes.kernelGrid.parentElement.style.setProperty("--grid-width", `${Math.max(kw * 2.6, 7.5)}rem`);
    grid.classList.toggle("cnv-small", kw > 7);
    this.kernelCells = [];
    for (let u = 0; u < kh; u++) {
      for (let v = 0; v < kw; v++) {
        const cell = el("div", {
          class: "cnv-kcell",
          role: "gridcell",
          tabindex: editable ? "0" : null,
          "data-row": u,
          "data-col": v,
          "aria-readonly": editable ? null : "true",
        });
        if (editable) this.editableCell(cell, u * kw + v);
        grid.append(cell);
        this.kernelCells.push(cell);
      }
    }
    grid.classList.toggle("cnv-readonly", !editable);
    this.refreshKernelGrid();
  }

  refreshKernelGrid() {
    if (!this.kernelCells || !this.base) return;
    const values = this.base.values;
    let largest = 0;
    for (const v of values) largest = Math.max(largest, Math.abs(v));
    this.kernelCells.forEach((cell, i) => {
      if (cell.querySelector("input")) return;
      const value = values[i];
      cell.textContent = this.A ? this.A.cellNumber(value) : String(value);
      const index = Math.max(0, Math.min(255, Math.floor((value / (largest || 1) + 1) * 127.5)));
      const lut = this.data.lut;
      const [r, g, b] = [lut[index * 3], lut[index * 3 + 1], lut[index * 3 + 2]];
      cell.style.background = `rgb(${r},${g},${b})`;
      cell.style.color = ink(r, g, b);
      cell.title = `row ${cell.dataset.row}, column ${cell.dataset.col}: ${cell.textContent}`;
    });
  }

  step() {
    let largest = 0;
    for (const v of this.base.values) largest = Math.max(largest, Math.abs(v));
    return largest >= 2 ? 1 : largest >= 0.2 ? 0.1 : 0.01;
  }

  setCell(index, value, event, commit) {
    const rounded = Math.round(value * 1e6) / 1e6;
    if (this.base.values[index] === rounded && !commit) return;
    this.base.values[index] = Math.max(-1e6, Math.min(1e6, rounded));
    this.refreshKernelGrid();
    this.kernelEdited(event, commit);
  }

  editableCell(cell, index) {
    cell.addEventListener("pointerdown", (e) => {
      if (e.button !== 0 || cell.querySelector("input")) return;
      e.preventDefault();
      cell.setPointerCapture(e.pointerId);
      const start = this.base.values[index];
      const step = this.step();
      const y0 = e.clientY;
      let moved = false;
      this.dragging = true;
      cell.classList.add("cnv-dragging");
      const move = (m) => {
        const steps = Math.round((y0 - m.clientY) / 6); // up: larger
        if (steps !== 0) moved = true;
        if (moved) this.setCell(index, start + steps * step, m, false);
      };
      const up = () => {
        held(move, up, false);
        cell.classList.remove("cnv-dragging");
        this.dragging = false;
        if (moved) this.commit();
        else this.typeInto(cell, index);
      };
      held(move, up, true);
    });
    cell.addEventListener(
      "wheel",
      (e) => {
        e.preventDefault();
        this.setCell(index, this.base.values[index] + (e.deltaY < 0 ? 1 : -1) * this.step(), e, false);
        clearTimeout(this.wheelTimer);
        this.wheelTimer = setTimeout(() => this.commit(), 400); // a scroll has ended
      },
      { passive: false },
    );
    cell.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        this.typeInto(cell, index);
      }
    });
  }

  // Whether the learner is typing in `node` or in a field inside it (a kernel cell's, in the grid).
  typingIn(node) {
    const focused = this.root.getRootNode().activeElement;
    return Boolean(focused) && node.contains(focused);
  }

  typeInto(cell, index) {
    const { kh, kw } = this.base;
    const shown = this.A.cellNumber(this.base.values[index]);
    const input = el("input", { type: "text", inputmode: "decimal", value: shown });
    cell.replaceChildren(input);
    input.focus();
    input.select();
    let done = false;
    const finish = (keep) => {
      if (done) return;
      done = true;
      const value = typedNumber(input.value);
      cell.replaceChildren();
      if (this.base.kh !== kh || this.base.kw !== kw) {
        // the kernel changed shape while this cell was typed in (a reply from Python): its grid now
        this.buildKernelGrid();
        return;
      }
      // Left as shown (a click to look, then away): nothing changes; its shown number is rounded (1/9
      // shows as 0.111), and taking it would turn a gallery kernel into a custom one.
      if (keep && input.value.trim() === shown) this.refreshKernelGrid();
      else if (keep && !Number.isNaN(value)) this.setCell(index, value, null, true);
      else {
        if (keep) this.refuse(input.value, "kernel weight");
        this.refreshKernelGrid();
      }
    };
    input.addEventListener("keydown", (e) => {
      e.stopPropagation();
      if (e.key === "Enter") finish(true);
      if (e.key === "Escape") finish(false);
    });
    input.addEventListener("blur", () => finish(true));
  }

  // --- the stages ---

  drawInput() {
    const figure = this.stageFigure(0);
    const { h, w, c, pixels } = this.picture;
    const canvas = figure.canvas;
    canvas.width = w;
    canvas.height = h;
    const image = new ImageData(w, h);
    for (let i = 0, o = 0; i < h * w; i++, o += 4) {
      image.data[o] = pixels[i * c];
      image.data[o + 1] = pixels[i * c + (c > 1 ? 1 : 0)];
      image.data[o + 2] = pixels[i * c + (c > 1 ? 2 : 0)];
      image.data[o + 3] = 255;
    }
    canvas.getContext("2d").putImageData(image, 0, 0);
    figure.caption.textContent = `${this.data.image_name}, input, ${h}x${w}${c > 1 ? "x" + c : ""}`;
    figure.bar.hidden = true;
    figure.barCaption.textContent = "";
  }

  stageFigure(index) {
    this.figures = this.figures || [];
    if (!this.figures[index]) {
      const canvas = el("canvas", { class: "cnv-picture" });
      const marker = el("div", { class: "cnv-marker" });
      // Focusable, so that after a click the arrow keys move the pinned pixel.
      const frame = el("div", { class: "cnv-frame", tabindex: "0", "aria-label": "Picture: point to explain a pixel, click to pin it" }, canvas, marker);
      const caption = el("div", { class: "cnv-caption cnv-stage-caption" });
      const bar = el("canvas", { class: "cnv-bar", width: 256, height: 1 });
      const barCaption = el("div", { class: "cnv-caption cnv-bar-caption" });
      // The stage at its own size, as the server's PNG download gives it (cnnviz.display.render_png).
      const download = el("button", { type: "button", class: "cnv-download", text: "PNG", title: "Download this picture" });
      download.addEventListener("click", () => this.download(index));
      const figure = el("figure", { class: "cnv-stage", "data-stage": index }, frame, caption, bar, barCaption, download);
      frame.addEventListener("pointermove", (e) => this.pointer(index, e));
      frame.addEventListener("pointerleave", () => this.leave());
      frame.addEventListener("click", (e) => {
        frame.focus({ preventScroll: true });
        this.pin(index, e);
      });
      this.figures[index] = { figure, canvas, marker, caption, bar, barCaption, frame, download };
      if (index === 0) download.hidden = true;
      this.nodes.stages.append(figure);
    }
    return this.figures[index];
  }

  drawStages() {
    const stages = this.result.stages;
    this.nodes.stages.style.gridTemplateColumns = `repeat(${stages.length}, minmax(0, 1fr))`;
    stages.forEach((stage, index) => {
      if (index === 0) return;
      const f = this.stageFigure(index);
      f.figure.hidden = false;
      if (f.canvas.width !== stage.w || f.canvas.height !== stage.h) {
        f.canvas.width = stage.w;
        f.canvas.height = stage.h;
      }
      f.canvas.getContext("2d").putImageData(new ImageData(stage.rgba, stage.w, stage.h), 0, 0);
      const shape = `${stage.h}x${stage.w}${stage.c > 1 ? "x" + stage.c : ""}`;
      let caption = `${stage.name}, ${shape}`;
      if (stage.h === 1 && stage.w === 1) caption += ": " + Array.from(stage.values, (v) => this.A.plainNumber(v)).join(", ");
      f.caption.textContent = caption;
      this.drawBar(f, stage);
    });
    for (let i = stages.length; i < (this.figures || []).length; i++) this.figures[i].figure.hidden = true;
    // What the display means, and the shapes with their formulas.
    this.nodes.note.textContent = this.displayNote();
    const chain = [`${this.picture.h}x${this.picture.w}${this.picture.c > 1 ? "x" + this.picture.c : ""}`];
    for (const stage of stages.slice(1)) {
      const text = `${stage.h}x${stage.w}${stage.c > 1 ? "x" + stage.c : ""}`;
      if (text !== chain[chain.length - 1] || stage.formula) chain.push(text);
    }
    this.nodes.shapes.replaceChildren(el("strong", { text: "Shapes: " }), chain.join(" -> "));
    this.nodes.formulas.replaceChildren(
      ...stages.filter((s) => s.formula).map((s) => el("div", { text: `${s.name}: ${s.formula}` })),
    );
    this.markers();
  }

  download(index) {
    const stage = this.result.stages[index];
    const name = stage.name.split(" (")[0].replaceAll(" ", "_").replaceAll(",", "") + ".png";
    this.figures[index].canvas.toBlob((blob) => {
      const link = el("a", { href: URL.createObjectURL(blob), download: name });
      this.root.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    }, "image/png");
  }

  drawBar(f, stage) {
    const signed = stage.mode === "signed";
    f.bar.hidden = !signed;
    if (!signed) {
      f.barCaption.textContent =
        stage.mode === "clipped"
          ? "0 black to 255 white (values beyond are clipped)"
          : `black ${this.A.plainNumber(stage.min)} to white ${this.A.plainNumber(stage.max)}`;
      return;
    }
    const context = f.bar.getContext("2d");
    const image = new ImageData(256, 1);
    const lut = this.data.lut;
    for (let i = 0; i < 256; i++) {
      image.data.set([lut[i * 3], lut[i * 3 + 1], lut[i * 3 + 2], 255], i * 4);
    }
    context.putImageData(image, 0, 0);
    const A = this.A;
    if (stage.max === 0 && stage.min === 0) {
      f.barCaption.textContent =
        "every value here is 0 (a flat picture, an all-zero kernel, or an activation that removed them all)";
      return;
    }
    const limit = A.plainNumber(stage.limit);
    const extreme = Math.max(Math.abs(stage.min), Math.abs(stage.max));
    const ends = extreme > stage.limit * 1.0005 ? " (stronger values get the end colours)" : "";
    f.barCaption.textContent = `blue -${limit} · white 0 · red +${limit}${ends}; values run from ${A.plainNumber(stage.min)} to ${A.plainNumber(stage.max)}`;
  }

  displayNote() {
    if (this.settings.display !== "auto") return "";
    // The filter's weights, as run_lab applies them: the same kernel on every channel counts once per channel.
    const applied = this.result.applied;
    const repeated = this.picture.c > 1 && this.data.conv_mode === "filter" && applied.length === this.base.kh * this.base.kw;
    const total = applied.reduce((a, b) => a + b, 0) * (repeated ? this.picture.c : 1);
    const sum = this.A.plainNumber(total, 3);
    const clipped = this.result.stages.some((s, i) => i > 1 && s.mode === "clipped") && this.result.mode !== "clipped";
    let after = clipped ? " After clipping: a picture again, 0 black to 255 white, as the tutorial showed it." : "";
    if (this.result.mode === "signed" && this.result.stages[1].c > 1) {
      after +=
        " The signed view of three channels shows the mean of their responses; choose 'Clipped 0..255' to see " +
        "them as colour.";
    }
    if (this.result.mode === "signed") {
      return (
        `Shown in signed colours (automatic): this kernel's weights add up to ${sum}, so it answers edges with ` +
        `positive (red) and negative (blue) values and flat areas with 0 (white).${after}`
      );
    }
    if (this.result.mode === "clipped") {
      return (
        `Shown as a picture (automatic, clipped 0..255): the weights add up to ${sum}, about 1, so a flat ` +
        `area keeps its brightness.${after}`
      );
    }
    return (
      `Shown as a picture (automatic, stretched min..max): the weights add up to ${sum}, so a flat area comes ` +
      `out about ${sum} times as bright; the picture is stretched so its darkest value is black and its ` +
      `brightest white.${after}`
    );
  }

  // --- pointing at pixels ---

  convShape() {
    const stage = this.result.stages[1];
    return [stage.h, stage.w];
  }

  // The convolution pixel a point of stage `index` stands for.
  pixelAt(index, event) {
    const f = this.figures[index];
    const box = f.canvas.getBoundingClientRect();
    const stage = index === 0 ? this.picture : this.result.stages[index];
    const y = Math.min(Math.max(Math.floor(((event.clientY - box.top) / box.height) * stage.h), 0), stage.h - 1);
    const x = Math.min(Math.max(Math.floor(((event.clientX - box.left) / box.width) * stage.w), 0), stage.w - 1);
    const [oh, ow] = this.convShape();
    const s = this.labSettings();
    if (index === 0) {
      const { kh, kw } = this.base;
      const A = this.A;
      const top = A.padBefore(this.picture.h, kh, s.stride, s.padding);
      const left = A.padBefore(this.picture.w, kw, s.stride, s.padding);
      return [
        Math.min(Math.max(Math.round((y + top - (kh - 1) / 2) / s.stride), 0), oh - 1),
        Math.min(Math.max(Math.round((x + left - (kw - 1) / 2) / s.stride), 0), ow - 1),
      ];
    }
    const isPool = index === this.result.stages.length - 1 && (s.pool === "max" || s.pool === "avg");
    if (!isPool) return s.pool === "gap" && index === this.result.stages.length - 1 ? this.current() : [y, x];
    const pstride = s.pool_stride || s.pool_size;
    if (s.pool === "max") {
      const channel = this.channel();
      const act = this.activatedMap();
      const sums = this.A.poolArithmetic(act, channel, s.pool_size, pstride, y, x, "max");
      return [sums.top + Math.floor(sums.winner / s.pool_size), sums.left + (sums.winner % s.pool_size)];
    }
    return [Math.min(y * pstride, oh - 1), Math.min(x * pstride, ow - 1)];
  }

  pixelLocked() {
    return this.locked("row") || this.locked("col");
  }

  pointer(index, event) {
    if (!this.result || this.pixelLocked()) return;
    this.pointerAt = { clientX: event.clientX, clientY: event.clientY };
    const pixel = this.pixelAt(index, event);
    if (this.hover && pixel[0] === this.hover[0] && pixel[1] === this.hover[1]) return;
    this.hover = pixel;
    this.events.push([this.seq, event.timeStamp, "hover"]);
    this.drawArithmetic();
    this.afterFrame(this.seq);
  }

  leave() {
    this.pointerAt = null;
    if (!this.hover) return;
    this.hover = null;
    if (this.result) this.drawArithmetic();
  }

  pin(index, event) {
    if (!this.result || this.pixelLocked()) return;
    const [row, col] = this.pixelAt(index, event);
    this.pinTo(row, col, true);
  }

  pinTo(row, col, commit) {
    this.settings.row = String(row);
    this.settings.col = String(col);
    this.pickShape = this.convShape();
    this.dirty = true;
    this.hover = null;
    this.drawArithmetic();
    if (commit) this.commit();
  }

  key(event) {
    if (!this.result || this.pixelLocked() || event.target.closest("input, select")) return;
    const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    const move = moves[event.key];
    if (!move) return;
    event.preventDefault();
    const [oh, ow] = this.convShape();
    const [row, col] = this.pinned();
    this.pinTo(Math.min(Math.max(row + move[0], 0), oh - 1), Math.min(Math.max(col + move[1], 0), ow - 1), false);
    clearTimeout(this.keyTimer);
    this.keyTimer = setTimeout(() => this.commit(), 400); // the keys have stopped: tell Python
  }

  // The chosen pixel: the pinned one (carried to the same place when the output's shape changed), or
  // where the kernel answers, until one is chosen.
  pinned() {
    const shape = this.convShape();
    let row = Number(this.settings.row),
      col = Number(this.settings.col);
    if (row < 0 || col < 0) return this.result.informative || [Math.floor(shape[0] / 2), Math.floor(shape[1] / 2)];
    const old = this.pickShape || this.data.pick_shape;
    if (!old) {
      // No shape known (a link, a reload): the pixel came with these settings, so it is this output's.
      this.pickShape = shape;
    } else if (old[0] !== shape[0] || old[1] !== shape[1]) {
      [row, col] = this.A.rescaledPixel([row, col], old, shape);
      this.settings.row = String(row);
      this.settings.col = String(col);
      this.pickShape = shape;
      this.carried = true;
    }
    return [Math.min(row, shape[0] - 1), Math.min(col, shape[1] - 1)];
  }

  current() {
    return this.hover || this.pinned();
  }

  channel() {
    return this.picture.c > 1 && this.data.conv_mode === "depthwise" ? Number(this.settings.channel) : 0;
  }

  activatedMap() {
    const stage = this.result.stages[this.result.activatedIndex];
    return { h: stage.h, w: stage.w, c: stage.c, data: stage.values };
  }

  markers() {
    if (!this.result) return;
    const [row, col] = this.current();
    const s = this.labSettings();
    const { kh, kw } = this.base;
    const place = (f, top, left, height, width, H, W) => {
      Object.assign(f.marker.style, {
        top: `${(top / H) * 100}%`,
        left: `${(left / W) * 100}%`,
        height: `${(height / H) * 100}%`,
        width: `${(width / W) * 100}%`,
      });
      f.marker.classList.toggle("cnv-tiny", height / H < 0.03 || width / W < 0.03);
    };
    const A = this.A;
    const top = row * s.stride - A.padBefore(this.picture.h, kh, s.stride, s.padding);
    const left = col * s.stride - A.padBefore(this.picture.w, kw, s.stride, s.padding);
    place(this.stageFigure(0), top, left, kh, kw, this.picture.h, this.picture.w);
    this.result.stages.forEach((stage, index) => {
      if (index === 0) return;
      const f = this.figures[index];
      const isPool = index === this.result.stages.length - 1 && (s.pool === "max" || s.pool === "avg");
      if (isPool) {
        const [pr, pc] = this.poolCell(row, col);
        place(f, pr, pc, 1, 1, stage.h, stage.w);
      } else if (stage.h === 1 && stage.w === 1) place(f, 0, 0, 1, 1, 1, 1);
      else place(f, row, col, 1, 1, stage.h, stage.w);
    });
  }

  poolCell(row, col) {
    const s = this.labSettings();
    const pstride = s.pool_stride || s.pool_size;
    const out = this.result.stages[this.result.stages.length - 1];
    return [Math.min(Math.floor(row / pstride), out.h - 1), Math.min(Math.floor(col / pstride), out.w - 1)];
  }

  // --- the arithmetic of one pixel, as grids ---

  drawArithmetic() {
    const A = this.A;
    const [row, col] = this.current();
    const s = this.labSettings();
    const { kh, kw } = this.base;
    const picture = this.picture;
    const filter = picture.c > 1 && this.data.conv_mode === "filter";
    const channel = this.channel();
    const channels = filter ? [0, 1, 2] : [channel];
    const kernel = this.result.applied;
    const kc = kernel.length / (kh * kw);
    const sums = A.pixelArithmetic(this.planes(), picture.h, picture.w, kernel, kh, kw, kc, row, col, s.stride, s.padding, channels);
    this.nodes.arithTitle.textContent = `The arithmetic of output pixel (${row}, ${col})`;
    this.nodes.arithHint.textContent = this.pixelLocked()
      ? "Your teacher's link fixes this pixel."
      : this.hover
        ? "Under the pointer. Click to pin it; arrow keys then move it."
        : `${Number(this.settings.row) >= 0 ? "Pinned" : "Where the kernel answers strongly"}: point at any picture above to see another pixel, click to pin it, arrow keys move it. The window starts at (${sums.top}, ${sums.left}) of the input.`;
    this.drawChannelChoice(picture, filter);
    this.drawGrids(sums, filter);
    this.drawSums(sums, filter);
    this.drawPool(row, col, channel);
    this.markers();
  }

  planes() {
    if (!this.picturePlanes || this.picturePlanes.id !== this.picture.id) {
      const p = this.picture;
      this.picturePlanes = { id: p.id, planes: this.A.planes(p.pixels, p.h, p.w, p.c) };
    }
    return this.picturePlanes.planes;
  }

  drawChannelChoice(picture, filter) {
    const box = this.nodes.channelChoice;
    const show = picture.c > 1 && !filter && !this.locks.hidden.has("channel");
    box.hidden = !show;
    if (!show) return;
    if (!box.childElementCount) {
      [...CHANNEL_NAMES].forEach((name, k) => {
        const button = el("button", { type: "button", text: name, "data-channel": k });
        button.addEventListener("click", () => {
          this.change("channel", String(k));
          this.drawArithmetic();
        });
        box.append(button);
      });
      box.prepend(el("span", { text: "Channel: " }));
    }
    for (const button of box.querySelectorAll("button")) {
      button.setAttribute("aria-pressed", String(button.dataset.channel === String(this.settings.channel)));
      button.disabled = this.locks.fixed.has("channel");
    }
  }

  gridKey(sums, filter) {
    return `${sums.kh}x${sums.kw}x${sums.rows.length}x${filter}`;
  }

  drawGrids(sums, filter) {
    const key = this.gridKey(sums, filter);
    const numbered = Math.max(sums.kh, sums.kw) <= MAX_NUMBERED;
    if (this.gridsKey !== key) {
      this.gridsKey = key;
      this.gridViews = [];
      const blocks = sums.rows.map((r) => {
        const name = filter ? ` (${CHANNEL_NAMES[r.channel]})` : "";
        const views = [
          this.gridView(`Input window${name}`, sums.kh, sums.kw, numbered),
          this.gridView(`Kernel${name}`, sums.kh, sums.kw, numbered),
          this.gridView(`Products${name}`, sums.kh, sums.kw, numbered),
        ];
        this.gridViews.push(views);
        return el("div", { class: "cnv-grid-row", style: `--cells: ${sums.kw}` }, ...views.map((v) => v.box));
      });
      this.nodes.grids.replaceChildren(...blocks);
      if (!numbered) {
        this.nodes.grids.append(
          el("div", {
            class: "cnv-caption",
            text: `A ${sums.kh}x${sums.kw} window has ${sums.kh * sums.kw} numbers per grid: point at a cell to read it.`,
          }),
        );
      }
    }
    sums.rows.forEach((r, i) => {
      const [windowView, kernelView, productView] = this.gridViews[i];
      this.fillGrid(windowView, r.window, "pixels");
      this.fillGrid(kernelView, r.kernel, "signed");
      this.fillGrid(productView, r.products, "signed", `Products${filter ? ` (${CHANNEL_NAMES[r.channel]})` : ""} = ${this.A.plainNumber(r.sum)}`);
    });
  }

  gridView(title, kh, kw, numbered) {
    const heading = el("div", { class: "cnv-grid-title", text: title });
    const readout = el("div", { class: "cnv-readout" });
    if (numbered) {
      const table = el("table", { class: `cnv-grid cnv-w${kw}` });
      const cells = [];
      for (let u = 0; u < kh; u++) {
        const tr = el("tr");
        for (let v = 0; v < kw; v++) {
          const td = el("td", {}, el("span"));
          cells.push(td);
          tr.append(td);
        }
        table.append(tr);
      }
      return { box: el("div", { class: "cnv-grid-box" }, heading, table), heading, cells, kh, kw };
    }
    const canvas = el("canvas", { class: "cnv-grid-canvas", width: kw, height: kh });
    const view = { box: el("div", { class: "cnv-grid-box" }, heading, canvas, readout), heading, canvas, readout, kh, kw };
    canvas.addEventListener("pointermove", (e) => {
      const box = canvas.getBoundingClientRect();
      const u = Math.min(kh - 1, Math.floor(((e.clientY - box.top) / box.height) * kh));
      const v = Math.min(kw - 1, Math.floor(((e.clientX - box.left) / box.width) * kw));
      if (view.values) readout.textContent = `row ${u}, column ${v}: ${this.A.cellNumber(view.values[u * kw + v])}`;
    });
    canvas.addEventListener("pointerleave", () => (readout.textContent = ""));
    return view;
  }

  colours(values, kind) {
    const lut = this.data.lut;
    let limit = 0;
    if (kind !== "pixels") for (const v of values) limit = Math.max(limit, Math.abs(v));
    limit = limit || 1;
    return Array.from(values, (v) => {
      if (kind === "pixels") {
        const g = Math.min(255, Math.max(0, Math.round(v)));
        return [g, g, g];
      }
      const index = Math.max(0, Math.min(255, Math.floor((v / limit + 1) * 127.5)));
      return [lut[index * 3], lut[index * 3 + 1], lut[index * 3 + 2]];
    });
  }

  fillGrid(view, values, kind, title = null, mark = -1) {
    if (title) view.heading.textContent = title;
    const colours = this.colours(values, kind);
    view.values = values;
    if (view.cells) {
      view.cells.forEach((td, i) => {
        const [r, g, b] = colours[i];
        const text = this.A.cellNumber(values[i]);
        td.style.background = `rgb(${r},${g},${b})`;
        td.style.color = ink(r, g, b);
        td.firstChild.textContent = text;
        td.title = `row ${Math.floor(i / view.kw)}, column ${i % view.kw}: ${text}`;
        td.classList.toggle("cnv-pick", i === mark);
      });
      return;
    }
    const image = new ImageData(view.kw, view.kh);
    colours.forEach(([r, g, b], i) => image.data.set([r, g, b, 255], i * 4));
    view.canvas.getContext("2d").putImageData(image, 0, 0);
  }

  drawSums(sums, filter) {
    const A = this.A;
    const lines = [];
    if (filter) {
      const parts = sums.rows.map((r) => `${CHANNEL_NAMES[r.channel]} ${A.plainNumber(r.sum, 6)}`).join(" + ");
      lines.push(["Sum of the three channels' products: ", `${parts} = ${A.plainNumber(sums.total, 6)}`]);
    } else {
      const r = sums.rows[0];
      const terms = Array.from(r.kernel, (k, i) => `(${A.cellNumber(k)})x${A.cellNumber(r.window[i])}`);
      let shown = terms.slice(0, 9).join(" + ");
      if (terms.length > 9) shown += ` + ... (${terms.length - 9} more terms)`;
      lines.push(["Sum of the products: ", `${shown} = ${A.plainNumber(sums.total, 6)}`]);
    }
    const s = this.labSettings();
    let value = sums.total;
    const out = [];
    for (const [label, code] of lines) out.push(el("div", {}, label, el("code", { text: code })));
    if (s.bias) {
      value += s.bias;
      out.push(el("div", {}, `Plus the bias ${A.plainNumber(s.bias, 6)}: `, el("strong", { text: A.plainNumber(value, 6) })));
    }
    if (s.activation !== "none") {
      const labels = this.data.labels.post;
      out.push(
        el("div", {}, `After ${labels[s.activation]}: `, el("strong", { text: A.plainNumber(A.activateValue(value, s.activation), 6) })),
      );
    }
    if (filter) out.push(el("div", { class: "cnv-caption", text: "One filter, one output: the red, green and blue products are added into a single number." }));
    this.nodes.sums.replaceChildren(...out);
  }

  drawPool(row, col, channel) {
    const box = this.nodes.poolBox;
    const s = this.labSettings();
    const A = this.A;
    if (s.pool === "none") {
      box.replaceChildren();
      this.poolKey = null;
      return;
    }
    const act = this.activatedMap();
    const which = act.c > 1 ? ` (${CHANNEL_NAMES[channel]})` : "";
    if (s.pool === "gap") {
      let total = 0;
      for (let i = channel; i < act.data.length; i += act.c) total += act.data[i];
      const count = act.h * act.w;
      this.poolKey = null;
      box.replaceChildren(
        el("div", { class: "cnv-arith-title", text: "Global average pooling" }),
        el(
          "div",
          {},
          `The whole map${which} becomes one number: the sum of its ${act.h}x${act.w} values / ${count} = ${A.plainNumber(total, 7)} / ${count} = `,
          el("strong", { text: A.plainNumber(total / count) }),
        ),
      );
      return;
    }
    const pstride = s.pool_stride || s.pool_size;
    const [pr, pc] = this.poolCell(row, col);
    const sums = A.poolArithmetic(act, channel, s.pool_size, pstride, pr, pc, s.pool);
    const key = `${s.pool_size}`;
    if (this.poolKey !== key) {
      this.poolKey = key;
      this.poolView = this.gridView("", s.pool_size, s.pool_size, true);
      this.poolTexts = { value: el("div"), caption: el("div", { class: "cnv-caption" }) };
      box.replaceChildren(
        el("div", { class: "cnv-arith-title", text: "Pooling that pixel" }),
        el("div", { class: "cnv-pool-grid" }, this.poolView.box),
        this.poolTexts.value,
        this.poolTexts.caption,
      );
    }
    const name = this.result.stages[this.result.activatedIndex].name.split(" (")[0];
    this.fillGrid(this.poolView, sums.window, "signed", `Window of ${name} at (${sums.top}, ${sums.left})`, sums.winner);
    this.poolTexts.value.replaceChildren(`${s.pool === "max" ? "Max" : "Mean"} of the window: `, el("strong", { text: A.plainNumber(sums.value, 6) }));
    this.poolTexts.caption.textContent =
      `Pooled pixel (${pr}, ${pc}) keeps the ${s.pool === "max" ? "largest" : "mean of the"} ${s.pool_size}x${s.pool_size} values` +
      (s.pool === "max" ? " (outlined): where the feature was strongest." : ": a smoothed summary.");
  }
}

// --- the component's entry point -------------------------------------------------------------------


// Streamlit runs a call's cleanup when the element goes, and also when newer data arrived while the call
// was starting (its module loading): the element stays, and the next call (just made, or about to be)
// takes the view on. Removed at once, the view was built a second time beside what was left of the first
// (two kernel lists on the page). So the cleanup waits a moment, and does nothing if the view was called again.
function laterUnlessCalledAgain(view, call, destroy) {
  setTimeout(() => {
    if (view.calls === call) destroy();
  }, 0);
}
// For the tests and bench/lab.py: the labs on the page, their timings, where this module came from,
// and `run`, the worker's pipeline on any picture (the equality test against cnnviz.lab.run_lab).
const registry = (globalThis.__cnnvizLab = globalThis.__cnnvizLab || { labs: new Set(), arith: null });
registry.module = import.meta.url;
// parentElement -> Lab, shared by every version of this module the page loaded: a server restarted
// with new code hands the same element to a new module, whose lab replaces the old one.
const labs = (registry.roots = registry.roots || new WeakMap());
registry.run = (picture, request) =>
  new Promise((resolve) => {
    const worker = new Worker(workerUrl, { type: "module" });
    worker.onmessage = (event) => {
      worker.terminate();
      resolve(event.data);
    };
    worker.postMessage({ type: "image", ...picture });
    worker.postMessage({ type: "run", seq: 1, ...request });
  });

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  if (data instanceof Uint8Array || data instanceof ArrayBuffer) {
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : data;
    const picture = readPicture(bytes);
    if (picture) {
      pictures.set(picture.id, picture);
      while (pictures.size > 3) pictures.delete(pictures.keys().next().value);
      for (const lab of [...waiting]) if (lab.data && lab.data.image_id === picture.id) lab.usePicture(picture), lab.compute();
    }
    return undefined;
  }
  if (!data || data.role !== "view") return undefined;
  let lab = labs.get(parentElement);
  if (lab && !(lab instanceof Lab)) {
    lab.destroy();
    lab = null;
  }
  if (!lab) {
    lab = new Lab(parentElement);
    labs.set(parentElement, lab);
    registry.labs.add(lab);
  }
  lab.setStateValue = setStateValue;
  const call = (lab.calls = (lab.calls || 0) + 1);
  arithReady.then(
    (A) => {
      if (lab.destroyed) return;
      lab.A = A;
      registry.arith = A;
      lab.update(data);
    },
    (error) => lab.failed(error.message),
  );
  return () => laterUnlessCalledAgain(lab, call, () => lab.destroy());
}
