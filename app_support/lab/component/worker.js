// The lab's Web Worker: keeps the picture (as planes) and runs the whole pipeline off the page's
// thread, so a 512x512 RGB picture with a 15x15 kernel (about 180 million multiply-adds) never
// freezes the page. lab.js starts it from the file beside it (live.py `module_url`), and this arith.js
// is the one beside both, of the same version.
import * as A from "./arith.js";

const pictures = new Map(); // id -> { h, w, c, planes }

function picture(message) {
  if (!pictures.has(message.id)) {
    while (pictures.size >= 2) pictures.delete(pictures.keys().next().value);
    const { h, w, c, pixels } = message;
    pictures.set(message.id, { h, w, c, planes: A.planes(pixels, h, w, c) });
  }
}

function run(request) {
  const image = pictures.get(request.id);
  if (!image) return { seq: request.seq, ok: false, problem: "", missing: true };
  return A.labAnswer(request, image);
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
