// The lab's Web Worker: keeps the picture (as planes) and runs the whole pipeline off the page's
// thread, so a 512x512 RGB picture with a 15x15 kernel (about 180 million multiply-adds) never
// freezes the page. lab.js prepends `import * as A from "<arith.js>"` when it starts the worker.
/* global A */

const pictures = new Map(); // id -> { h, w, c, planes }

function picture(message) {
  if (!pictures.has(message.id)) {
    while (pictures.size >= 2) pictures.delete(pictures.keys().next().value);
    const { h, w, c, pixels } = message;
    pictures.set(message.id, { h, w, c, planes: A.planes(pixels, h, w, c) });
  }
}

// What each stage is shown as (app_support.lab.outputs.display_mode and activated_mode).
function modes(request, applied, picture) {
  const summed = picture.c > 1 && request.settings.mode === "filter" ? picture.c : 1;
  const chosen = request.display;
  // suggested_display reads the kernel run_lab applied: every slice of a filter (the same kernel on
  // every channel counts once per channel there, which changes neither of its tests).
  const mode = chosen !== "auto" ? chosen : A.suggestedDisplay(applied, summed);
  const after = request.settings.activation === "clip" && chosen === "auto" ? "clipped" : mode;
  return { mode, after };
}

function run(request) {
  const started = performance.now();
  const image = pictures.get(request.id);
  if (!image) return { seq: request.seq, ok: false, problem: "", missing: true };
  const { base, kh, kw, kc } = request.kernel;
  const applied = A.appliedKernel(base, kh, kw, kc, request.weight, request.normalize);
  const problem = A.kernelProblem(applied, request.weight);
  if (problem) return { seq: request.seq, ok: false, problem };
  let lab;
  try {
    lab = A.runLab(image.planes, image.h, image.w, applied, kh, kw, kc, request.settings);
  } catch (error) {
    return { seq: request.seq, ok: false, problem: error.message };
  }
  const { mode, after } = modes(request, applied, image);
  const transfer = [];
  const stages = [];
  let sharedLimit = null;
  lab.stages.forEach((stage, index) => {
    if (index === 0) {
      stages.push({ name: stage.name, formula: "", h: image.h, w: image.w, c: image.c });
      return;
    }
    const shown = index === 1 ? mode : after;
    // One limit for the picture and its colour bar: the percentile of every channel's magnitudes
    // (app_support.common.render.output_picture), the picture then shows the channels' mean.
    let limit = shown === "signed" ? A.signedLimit(stage.map.data) : null;
    if (shown === "signed" && request.sharedScale) {
      sharedLimit = sharedLimit ?? limit; // the convolution's: every later stage is drawn on its scale
      limit = sharedLimit;
    }
    const range = A.stats(stage.map.data);
    const rgba = A.render(stage.map, shown, request.lut, limit);
    transfer.push(rgba.buffer, stage.map.data.buffer);
    stages.push({
      name: stage.name,
      formula: stage.formula,
      h: stage.map.h,
      w: stage.map.w,
      c: stage.map.c,
      values: stage.map.data,
      rgba,
      mode: shown,
      limit,
      min: range.min,
      max: range.max,
    });
  });
  // Where the lab starts, until a pixel is chosen (cnnviz.lab.informative_pixel).
  const informative = !request.informative
    ? null
    : A.suggestedDisplay(applied, 1) === "signed"
      ? A.informativePixel(lab.activated)
      : A.informativePixel(
          A.windowVariance(image.planes, image.h, image.w, kh, kw, request.settings.stride, request.settings.padding),
        );
  const activatedIndex = lab.stages.findIndex((stage) => stage.map === lab.activated);
  return {
    seq: request.seq,
    ok: true,
    applied,
    stages,
    activatedIndex,
    mode,
    informative,
    ms: performance.now() - started,
    transfer,
  };
}

self.onmessage = (event) => {
  const message = event.data;
  if (message.type === "image") {
    picture(message);
    return;
  }
  if (message.type === "run") {
    let answer;
    try {
      answer = run(message);
    } catch (error) {
      answer = { seq: message.seq, ok: false, problem: String(error && error.message ? error.message : error) };
    }
    const transfer = answer.transfer || [];
    delete answer.transfer;
    self.postMessage(answer, transfer);
  }
};
