// The Convolution lab's arithmetic in the browser: the twin of cnnviz.lab.run_lab, cnnviz.ops and
// cnnviz.display, with no DOM, so that it runs in a Worker and is tested against the Python side
// (tests/test_lab_live.py) with page.evaluate.
//
// Pictures are planar Float32Array channels (one per colour), maps are { h, w, c, data } with the
// channel last (HWC), as NumPy holds them. Every formula states the Python function it mirrors.

export const MAX_KERNEL_VALUE = 1e6; // cnnviz.kernels.MAX_KERNEL_VALUE

// --- shapes (cnnviz.ops.output_size, same_padding, output_shape) -------------------------------------

export function outputSize(n, k, stride, padding) {
  if (padding === "same") return Math.ceil(n / stride);
  return n >= k ? Math.floor((n - k) / stride) + 1 : 0;
}

export function samePadding(n, k, stride) {
  const out = Math.ceil(n / stride);
  const total = Math.max((out - 1) * stride + k - n, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

export function padBefore(n, k, stride, padding) {
  return padding === "same" ? samePadding(n, k, stride)[0] : 0;
}

export function shapeFormula(h, w, kh, kw, stride, padding) {
  const parts = [];
  for (const [label, n, k] of [["H'", h, kh], ["W'", w, kw]]) {
    const size = outputSize(n, k, stride, padding);
    parts.push(
      padding === "same"
        ? `${label} = ceil(${n} / ${stride}) = ${size}`
        : `${label} = floor((${n} - ${k}) / ${stride}) + 1 = ${size}`,
    );
  }
  return parts.join(", ");
}

// --- numbers for learners -----------------------------------------------------------------------------

// cnnviz.display.plain_number: `digits` significant digits, never scientific notation.
export function plainNumber(value, digits = 4) {
  let v = Number(value) + 0; // -0 reads as 0
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return "0";
  const magnitude = Math.floor(Math.log10(Math.abs(v)));
  const decimals = Math.max(0, digits - 1 - magnitude);
  if (decimals > 20) return "0";
  let text = v.toFixed(decimals);
  if (text.includes(".")) text = text.replace(/0+$/, "").replace(/\.$/, "");
  return text === "-0" ? "0" : text;
}

// app_support.lab.arithmetic.number: a grid cell's text (whole numbers as they are, others 3 digits).
export function cellNumber(value) {
  const v = Number(value) + 0;
  if (Number.isInteger(v) && Math.abs(v) < 100000) return String(v);
  return plainNumber(v, 3);
}

// --- the kernel (cnnviz.kernels.scale_kernel, cnnviz.lab.run_lab / _normalized) ----------------------

// base: Float64Array/Array (kh * kw) or, with one slice per channel, (kh * kw * 3) channel last.
// Returns Float32Array, the kernel actually applied, same layout.
export function appliedKernel(base, kh, kw, kc, weight, normalize) {
  const n = kh * kw;
  if (kc === 1) {
    let k = Float64Array.from(base);
    if (normalize) {
      let total = 0,
        positive = 0;
      for (const v of k) {
        total += v;
        if (v > 0) positive += v;
      }
      const by = Math.abs(total) > 1e-9 ? total : positive > 0 ? positive : 1;
      k = k.map((v) => v / by);
    }
    return Float32Array.from(k, (v) => v * weight);
  }
  // one slice per channel: each scaled by the weight, then the whole filter normalised
  const out = Float32Array.from(base, (v) => v * weight);
  if (normalize) {
    let total = 0,
      positive = 0;
    for (const v of out) {
      total += v;
      if (v > 0) positive += v;
    }
    const by = Math.abs(total) > 1e-9 ? total : positive > 0 ? positive : 1;
    for (let i = 0; i < n * kc; i++) out[i] = Math.fround(out[i] / by);
  }
  return out;
}

export function kernelProblem(applied, weight) {
  let largest = 0;
  for (const v of applied) largest = Math.max(largest, Math.abs(v));
  if (!Number.isFinite(weight) || Math.abs(weight) > MAX_KERNEL_VALUE) {
    return `The weight must be a number between -1000000 and 1000000.`;
  }
  if (!(largest <= MAX_KERNEL_VALUE)) {
    return (
      `The weight times the kernel's largest entry is ${plainNumber(largest)}; it must stay between ` +
      `-1000000 and 1000000: choose a smaller weight.`
    );
  }
  return "";
}

// Planar channel k of a (kh, kw, kc) kernel as a Float32Array (kh * kw).
export function kernelSlice(kernel, kh, kw, kc, k) {
  if (kc === 1) return kernel;
  const out = new Float32Array(kh * kw);
  for (let i = 0; i < kh * kw; i++) out[i] = kernel[i * kc + k];
  return out;
}

// --- pictures -----------------------------------------------------------------------------------

// uint8 HWC pixels -> planar Float32Array channels.
export function planes(pixels, h, w, c) {
  const out = [];
  for (let k = 0; k < c; k++) {
    const plane = new Float32Array(h * w);
    for (let i = 0, j = k; i < h * w; i++, j += c) plane[i] = pixels[j];
    out.push(plane);
  }
  return out;
}

// --- convolution (cnnviz.ops.conv2d: cross-correlation, TensorFlow's SAME split) -------------------

// One plane with one (kh, kw) kernel, added into `out` (oh * ow): the products of each kernel entry
// over a whole output row at once, so the inner loop is a contiguous multiply-add.
export function correlateInto(out, plane, h, w, kernel, kh, kw, stride, padding) {
  const oh = outputSize(h, kh, stride, padding);
  const ow = outputSize(w, kw, stride, padding);
  const top = padBefore(h, kh, stride, padding);
  const left = padBefore(w, kw, stride, padding);
  const row = new Float64Array(ow);
  for (let r = 0; r < oh; r++) {
    row.fill(0);
    for (let u = 0; u < kh; u++) {
      const y = r * stride - top + u;
      if (y < 0 || y >= h) continue; // zero padding
      const base = y * w;
      for (let v = 0; v < kw; v++) {
        const weight = kernel[u * kw + v];
        if (weight === 0) continue;
        const offset = v - left; // input column of output column q: q * stride + offset
        const q0 = Math.max(0, Math.ceil(-offset / stride));
        const q1 = Math.min(ow, Math.floor((w - 1 - offset) / stride) + 1);
        if (stride === 1) {
          for (let q = q0, x = base + q0 + offset; q < q1; q++, x++) row[q] += weight * plane[x];
        } else {
          for (let q = q0, x = base + q0 * stride + offset; q < q1; q++, x += stride) row[q] += weight * plane[x];
        }
      }
    }
    const o = r * ow;
    for (let q = 0; q < ow; q++) out[o + q] += row[q];
  }
  return { oh, ow };
}

// The lab's convolution: mode 'gray' (one plane), 'filter' (C planes, one slice each, summed into one
// map) or 'depthwise' (one map per plane). Returns a map { h, w, c, data } (HWC Float32Array).
export function convolve(imagePlanes, h, w, kernel, kh, kw, kc, { stride = 1, padding = "valid", mode = "gray" } = {}) {
  const oh = outputSize(h, kh, stride, padding);
  const ow = outputSize(w, kw, stride, padding);
  if (oh < 1 || ow < 1) {
    throw new Error(
      `A ${kh}x${kw} kernel does not fit in a ${h}x${w} image with 'valid' padding; use a smaller window, ` +
        `a larger image, or 'same' padding.`,
    );
  }
  if (mode === "depthwise") {
    const c = imagePlanes.length;
    const data = new Float32Array(oh * ow * c);
    const one = new Float32Array(oh * ow);
    for (let k = 0; k < c; k++) {
      one.fill(0);
      correlateInto(one, imagePlanes[k], h, w, kernelSlice(kernel, kh, kw, kc, k), kh, kw, stride, padding);
      for (let i = 0, j = k; i < oh * ow; i++, j += c) data[j] = one[i];
    }
    return { h: oh, w: ow, c, data };
  }
  const data = new Float32Array(oh * ow);
  if (kc === 1 && imagePlanes.length > 1) {
    // One kernel on every channel, the products summed: convolution is linear, so convolving the sum of
    // the channels once gives the same map (to float rounding) at a third of the work.
    correlateInto(data, summedPlane(imagePlanes), h, w, kernel, kh, kw, stride, padding);
    return { h: oh, w: ow, c: 1, data };
  }
  for (let k = 0; k < imagePlanes.length; k++) {
    correlateInto(data, imagePlanes[k], h, w, kernelSlice(kernel, kh, kw, kc, k), kh, kw, stride, padding);
  }
  return { h: oh, w: ow, c: 1, data };
}

const sums = new WeakMap(); // planes -> the sum of its channels, made once per picture
function summedPlane(imagePlanes) {
  let total = sums.get(imagePlanes);
  if (!total) {
    total = new Float32Array(imagePlanes[0].length);
    for (const plane of imagePlanes) for (let i = 0; i < total.length; i++) total[i] += plane[i];
    sums.set(imagePlanes, total);
  }
  return total;
}

// --- bias, activation, pooling (cnnviz.ops.activation, max_pool2d, avg_pool2d, global_avg_pool2d) -----

export function addBias(map, bias) {
  if (!bias) return map;
  const data = new Float32Array(map.data.length);
  for (let i = 0; i < data.length; i++) data[i] = map.data[i] + bias;
  return { ...map, data };
}

export function activate(map, mode) {
  if (mode === "none") return map;
  const data = new Float32Array(map.data.length);
  const src = map.data;
  if (mode === "relu") for (let i = 0; i < data.length; i++) data[i] = src[i] > 0 ? src[i] : 0;
  else if (mode === "clip") for (let i = 0; i < data.length; i++) data[i] = Math.min(Math.max(src[i], 0), 255);
  else if (mode === "abs") for (let i = 0; i < data.length; i++) data[i] = Math.abs(src[i]);
  else throw new Error(`Activation ${mode} is not supported.`);
  return { ...map, data };
}

export function activateValue(value, mode) {
  if (mode === "relu") return Math.max(value, 0);
  if (mode === "clip") return Math.min(Math.max(value, 0), 255);
  if (mode === "abs") return Math.abs(value);
  return value;
}

// VALID pooling with windows `size` apart by `stride` (TensorFlow's max_pool2d / avg_pool2d).
export function pool(map, kind, size, stride) {
  const oh = outputSize(map.h, size, stride, "valid");
  const ow = outputSize(map.w, size, stride, "valid");
  if (oh < 1 || ow < 1) {
    throw new Error(
      `A ${size}x${size} pooling window does not fit in a ${map.h}x${map.w} image with 'valid' padding; use ` +
        `a smaller window, a larger image, or 'same' padding.`,
    );
  }
  const { w, c } = map;
  const src = map.data;
  const data = new Float32Array(oh * ow * c);
  const area = size * size;
  for (let r = 0; r < oh; r++) {
    for (let q = 0; q < ow; q++) {
      for (let k = 0; k < c; k++) {
        let best = -Infinity,
          total = 0;
        for (let u = 0; u < size; u++) {
          let i = ((r * stride + u) * w + q * stride) * c + k;
          for (let v = 0; v < size; v++, i += c) {
            const value = src[i];
            if (value > best) best = value;
            total += value;
          }
        }
        data[(r * ow + q) * c + k] = kind === "max" ? best : total / area;
      }
    }
  }
  return { h: oh, w: ow, c, data };
}

export function globalAverage(map) {
  const { h, w, c } = map;
  const data = new Float32Array(c);
  for (let k = 0; k < c; k++) {
    let total = 0;
    for (let i = k; i < h * w * c; i += c) total += map.data[i];
    data[k] = total / (h * w);
  }
  return { h: 1, w: 1, c, data };
}

// --- the whole pipeline (cnnviz.lab.run_lab) ---------------------------------------------------------

// settings: { stride, padding, activation, bias, pool, pool_size, pool_stride (0: the size), mode }
// Returns { stages: [{ name, formula, map }], convolved, activated, output }.
export function runLab(imagePlanes, h, w, kernel, kh, kw, kc, settings) {
  const colour = imagePlanes.length > 1;
  const mode = colour ? settings.mode : "gray";
  const stride = settings.stride;
  let conv = convolve(imagePlanes, h, w, kernel, kh, kw, kc, { stride, padding: settings.padding, mode });
  conv = addBias(conv, settings.bias);
  let formula = shapeFormula(h, w, kh, kw, stride, settings.padding);
  if (colour && mode === "filter") formula += `, one map: the ${imagePlanes.length} channels' products are summed`;
  const convName = !colour ? "convolution" : `convolution (${mode === "filter" ? "one filter" : "per channel"})`;
  const stages = [
    { name: "input", formula: "", map: null },
    { name: `${convName} (${settings.padding}, stride ${stride})`, formula, map: conv },
  ];
  let current = conv;
  if (settings.activation !== "none") {
    current = activate(conv, settings.activation);
    stages.push({ name: settings.activation, formula: "", map: current });
  }
  const activated = current;
  if (settings.pool === "gap") {
    const pooled = globalAverage(current);
    stages.push({
      name: "global average pool",
      formula: `one number per map: the sum of its ${current.h}x${current.w} values / ${current.h * current.w}`,
      map: pooled,
    });
  } else if (settings.pool !== "none") {
    const size = settings.pool_size;
    const pstride = settings.pool_stride || size;
    const pooled = pool(current, settings.pool, size, pstride);
    stages.push({
      name: `${settings.pool} pool ${size}x${size}, stride ${pstride}`,
      formula: shapeFormula(current.h, current.w, size, size, pstride, "valid"),
      map: pooled,
    });
  }
  return { stages, convolved: conv, activated, output: stages[stages.length - 1].map };
}

// --- display (cnnviz.display) ------------------------------------------------------------------------

// One map (mean of the channels when there are several), as signed colours see it.
export function meanOfChannels(map) {
  if (map.c === 1) return map.data;
  const n = map.h * map.w;
  const out = new Float32Array(n);
  for (let i = 0, j = 0; i < n; i++) {
    let total = 0;
    for (let k = 0; k < map.c; k++, j++) total += map.data[j];
    out[i] = Math.fround(total / map.c);
  }
  return out;
}

// cnnviz.display.signed_limit: the 99.5th percentile of the magnitudes (NumPy's linear
// interpolation), at least a thousandth of the largest and 1e-6. Exact, in two passes: a histogram of
// the magnitudes finds the bins that hold the two order statistics, then only those bins are sorted
// (a full sort of 260,000 values took longer than the convolution).
export function signedLimit(values, percentile = 99.5) {
  const length = values.length;
  let n = 0,
    largest = 0;
  for (let i = 0; i < length; i++) {
    const v = values[i];
    if (v - v === 0) {
      // finite
      n++;
      const m = v < 0 ? -v : v;
      if (m > largest) largest = m;
    }
  }
  if (n === 0) return 1e-6;
  const position = ((n - 1) * percentile) / 100;
  const low = Math.floor(position);
  const high = Math.min(low + 1, n - 1);
  let a = 0,
    b = 0;
  if (largest > 0) {
    const BINS = 4096;
    const scale = (BINS - 1) / largest;
    const counts = new Uint32Array(BINS);
    for (let i = 0; i < length; i++) {
      const v = values[i];
      if (v - v === 0) counts[Math.floor((v < 0 ? -v : v) * scale)]++;
    }
    // the bins holding order statistics `low` and `high`, and how many values come before the first
    let before = 0,
      first = 0;
    while (before + counts[first] <= low) before += counts[first++];
    let last = first,
      upto = before + counts[first];
    while (upto <= high) upto += counts[++last];
    const picked = new Float32Array(upto - before);
    let k = 0;
    for (let i = 0; i < length; i++) {
      const v = values[i];
      if (v - v === 0) {
        const m = v < 0 ? -v : v;
        const bin = Math.floor(m * scale);
        if (bin >= first && bin <= last) picked[k++] = m;
      }
    }
    picked.sort();
    a = picked[low - before];
    b = picked[high - before];
  }
  const value = a + (b - a) * (position - low);
  return Math.max(value, largest * 1e-3, 1e-6);
}

export function stats(values) {
  let low = Infinity,
    high = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v < low) low = v;
    if (v > high) high = v;
  }
  return { min: low, max: high };
}

// NumPy's rounding: halves to even.
function rint(v) {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// The colour map as one 32-bit RGBA word per level (the canvas's byte order), cached per table.
const packedTables = new WeakMap();
function packed(lut) {
  let table = packedTables.get(lut);
  if (!table) {
    table = new Uint32Array(256);
    const bytes = new Uint8Array(table.buffer);
    for (let i = 0; i < 256; i++) bytes.set([lut[i * 3], lut[i * 3 + 1], lut[i * 3 + 2], 255], i * 4);
    packedTables.set(lut, table);
  }
  return table;
}

// A map drawn in display mode 'signed' (lut: 256 RGB triples, limit: the colour bar's end), 'clipped'
// or 'minmax', as RGBA bytes (h * w * 4), the same colours as cnnviz.display.render.
export function render(map, mode, lut, limit) {
  const n = map.h * map.w;
  const rgba = new Uint8ClampedArray(n * 4);
  const words = new Uint32Array(rgba.buffer);
  if (mode === "signed") {
    const values = meanOfChannels(map);
    const table = packed(lut);
    const L = Math.fround(limit);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      // (v / limit + 1) * 127.5 in float32, as NumPy computes it, then truncated to a level
      let index = Math.fround(Math.fround(Math.fround(v / L) + 1) * 127.5);
      index = index > 0 ? (index < 255 ? index | 0 : 255) : 0; // NaN -> 0 like the clip below 0
      words[i] = table[v === v ? index : 127];
    }
    return rgba;
  }
  const { c, data } = map;
  let low = 0,
    scale = 1;
  if (mode === "minmax") {
    const s = stats(data);
    low = s.min;
    if (s.max - s.min < 1e-12) {
      rgba.fill(128);
      for (let o = 3; o < rgba.length; o += 4) rgba[o] = 255;
      return rgba;
    }
    scale = Math.fround(255 / (s.max - s.min));
  }
  const stretch = mode === "minmax";
  for (let i = 0, o = 0; i < n; i++, o += 4) {
    for (let k = 0; k < 3; k++) {
      const v = data[i * c + (c === 1 ? 0 : k)];
      rgba[o + k] = stretch ? rint(Math.fround(Math.fround(v - low) * scale)) : rint(v);
    }
    rgba[o + 3] = 255;
  }
  return rgba;
}

// cnnviz.lab.suggested_display
export function suggestedDisplay(kernel, summedChannels) {
  let total = 0,
    absolute = 0;
  for (const v of kernel) {
    total += v;
    absolute += Math.abs(v);
  }
  if (Math.abs(total) <= 0.05 * absolute) return "signed";
  return summedChannels === 1 && Math.abs(total - 1) <= 0.1 ? "clipped" : "minmax";
}

// --- one pixel's arithmetic (cnnviz.ops.pixel_arithmetic, pool_arithmetic) --------------------------

// The window, kernel and products behind convolution output (row, col): channels = the planes the
// kernel meets (all of them for a colour filter, one for a grey picture or one channel alone).
export function pixelArithmetic(imagePlanes, h, w, kernel, kh, kw, kc, row, col, stride, padding, channels) {
  const top = row * stride - padBefore(h, kh, stride, padding);
  const left = col * stride - padBefore(w, kw, stride, padding);
  const rows = [];
  let total = 0;
  for (const k of channels) {
    const plane = imagePlanes[k];
    const slice = kernelSlice(kernel, kh, kw, kc, kc === 1 ? 0 : k);
    const windowValues = new Float32Array(kh * kw);
    const products = new Float32Array(kh * kw);
    let sum = 0;
    for (let u = 0; u < kh; u++) {
      for (let v = 0; v < kw; v++) {
        const y = top + u,
          x = left + v;
        const value = y >= 0 && y < h && x >= 0 && x < w ? plane[y * w + x] : 0;
        windowValues[u * kw + v] = value;
        products[u * kw + v] = Math.fround(value * slice[u * kw + v]);
        sum += products[u * kw + v];
      }
    }
    rows.push({ channel: k, window: windowValues, kernel: slice, products, sum });
    total += sum;
  }
  return { row, col, top, left, kh, kw, rows, total };
}

export function poolArithmetic(map, channel, size, stride, row, col, kind) {
  const top = row * stride,
    left = col * stride;
  const values = new Float32Array(size * size);
  let best = -Infinity,
    winner = 0,
    total = 0;
  for (let u = 0; u < size; u++) {
    for (let v = 0; v < size; v++) {
      const value = map.data[((top + u) * map.w + left + v) * map.c + channel];
      values[u * size + v] = value;
      total += value;
      if (value > best) {
        best = value;
        winner = u * size + v;
      }
    }
  }
  const value = kind === "max" ? best : total / (size * size);
  return { row, col, top, left, size, window: values, value, winner: kind === "max" ? winner : -1 };
}

// cnnviz.lab.rescaled_pixel: the same place in an output whose shape changed.
export function rescaledPixel(pixel, oldShape, newShape) {
  return pixel.map((p, i) =>
    Math.min(Math.max(Math.floor(((p + 0.5) * newShape[i]) / Math.max(oldShape[i], 1)), 0), newShape[i] - 1),
  );
}

// An output pixel worth explaining (cnnviz.lab.informative_pixel, simplified): in the middle half,
// where the answer is strongest (within 10% of the best), the one nearest the centre.
export function informativePixel(activated) {
  const { h, w, c, data } = activated;
  const r0 = Math.floor(h / 4),
    r1 = Math.max(r0 + 1, Math.floor((3 * h) / 4));
  const c0 = Math.floor(w / 4),
    c1 = Math.max(c0 + 1, Math.floor((3 * w) / 4));
  let low = Infinity,
    high = -Infinity;
  const score = (r, q) => {
    let s = 0;
    for (let k = 0; k < c; k++) s += Math.abs(data[(r * w + q) * c + k]);
    return s;
  };
  for (let r = r0; r < r1; r++)
    for (let q = c0; q < c1; q++) {
      const s = score(r, q);
      if (s < low) low = s;
      if (s > high) high = s;
    }
  if (!(high > low)) return [Math.floor(h / 2), Math.floor(w / 2)];
  let best = null,
    bestDistance = Infinity;
  for (let r = r0; r < r1; r++)
    for (let q = c0; q < c1; q++) {
      if (score(r, q) >= high - 0.1 * (high - low)) {
        const d = (r - h / 2) ** 2 + (q - w / 2) ** 2;
        if (d < bestDistance) {
          bestDistance = d;
          best = [r, q];
        }
      }
    }
  return best;
}

// For kernels that keep the picture (a blur), where the input under each output's window varies most
// (an edge, not a flat patch): the variance of the grey picture under the window, as a map { h, w, c: 1 }.
export function windowVariance(imagePlanes, h, w, kh, kw, stride, padding) {
  const n = (h + 1) * (w + 1);
  const sums = new Float64Array(n),
    squares = new Float64Array(n);
  for (let y = 0; y < h; y++) {
    let rowSum = 0,
      rowSquare = 0;
    for (let x = 0; x < w; x++) {
      let g = 0;
      for (const plane of imagePlanes) g += plane[y * w + x];
      g /= imagePlanes.length;
      rowSum += g;
      rowSquare += g * g;
      sums[(y + 1) * (w + 1) + x + 1] = sums[y * (w + 1) + x + 1] + rowSum;
      squares[(y + 1) * (w + 1) + x + 1] = squares[y * (w + 1) + x + 1] + rowSquare;
    }
  }
  const oh = outputSize(h, kh, stride, padding),
    ow = outputSize(w, kw, stride, padding);
  const top = padBefore(h, kh, stride, padding),
    left = padBefore(w, kw, stride, padding);
  const data = new Float32Array(oh * ow);
  const box = (table, y0, x0, y1, x1) =>
    table[y1 * (w + 1) + x1] - table[y0 * (w + 1) + x1] - table[y1 * (w + 1) + x0] + table[y0 * (w + 1) + x0];
  for (let r = 0; r < oh; r++) {
    const y0 = Math.max(0, r * stride - top),
      y1 = Math.min(h, r * stride - top + kh);
    for (let q = 0; q < ow; q++) {
      const x0 = Math.max(0, q * stride - left),
        x1 = Math.min(w, q * stride - left + kw);
      const count = Math.max(1, (y1 - y0) * (x1 - x0));
      const mean = box(sums, y0, x0, y1, x1) / count;
      data[r * ow + q] = box(squares, y0, x0, y1, x1) / count - mean * mean;
    }
  }
  return { h: oh, w: ow, c: 1, data };
}

// --- the whole pipeline (lab.js, worker.js) --------------------------------------------------------

// What each stage is shown as (app_support.lab.outputs.display_mode and activated_mode).
function displayModes(request, applied, picture) {
  const summed = picture.c > 1 && request.settings.mode === "filter" ? picture.c : 1;
  const chosen = request.display;
  // suggested_display reads the kernel run_lab applied: every slice of a filter (the same kernel on
  // every channel counts once per channel there, which changes neither of its tests).
  const mode = chosen !== "auto" ? chosen : suggestedDisplay(applied, summed);
  const after = request.settings.activation === "clip" && chosen === "auto" ? "clipped" : mode;
  return { mode, after };
}

// The whole pipeline for one request of lab.js on one picture ({ h, w, c, planes }): every stage's
// values and RGBA picture, what the lab shows them as, and (when asked) where it starts. The worker
// runs it for large work; lab.js runs it in the pointer's own event when it takes a few milliseconds.
export function labAnswer(request, image) {
  const started = performance.now();
  const { base, kh, kw, kc } = request.kernel;
  const applied = appliedKernel(base, kh, kw, kc, request.weight, request.normalize);
  const problem = kernelProblem(applied, request.weight);
  if (problem) return { seq: request.seq, ok: false, problem };
  let lab;
  try {
    lab = runLab(image.planes, image.h, image.w, applied, kh, kw, kc, request.settings);
  } catch (error) {
    return { seq: request.seq, ok: false, problem: error.message };
  }
  const { mode, after } = displayModes(request, applied, image);
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
    let limit = shown === "signed" ? signedLimit(stage.map.data) : null;
    if (shown === "signed" && request.sharedScale) {
      sharedLimit = sharedLimit ?? limit; // the convolution's: every later stage is drawn on its scale
      limit = sharedLimit;
    }
    const range = stats(stage.map.data);
    const rgba = render(stage.map, shown, request.lut, limit);
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
    : suggestedDisplay(applied, 1) === "signed"
      ? informativePixel(lab.activated)
      : informativePixel(
          windowVariance(image.planes, image.h, image.w, kh, kw, request.settings.stride, request.settings.padding),
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
