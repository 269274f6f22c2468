// A picture you drag a box on (app_support/common/clickable.py's `box_picture`): press at one corner of
// the object, drag to the other, let go. The box is drawn while you drag and sent when you let go, as
// fractions of the picture: {box: [x_min, y_min, x_max, y_max], target, unix_time}. `target` echoes the
// data's, so a box drawn on one example never lands on another after the page moved on.
// data: {src (a data: URL), box (fractions, or null), target, alt}. Nothing is fetched.
const views = new WeakMap(); // parentElement -> view

const clamp = (value) => Math.min(Math.max(value, 0), 1);
const ordered = (a, b) => [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[0], b[0]), Math.max(a[1], b[1])];

function draw(view, box) {
  const { rect } = view;
  if (!box) {
    rect.style.display = "none";
    return;
  }
  rect.style.display = "block";
  rect.style.left = `${box[0] * 100}%`;
  rect.style.top = `${box[1] * 100}%`;
  rect.style.width = `${(box[2] - box[0]) * 100}%`;
  rect.style.height = `${(box[3] - box[1]) * 100}%`;
}

function build(parentElement) {
  const holder = document.createElement("div");
  holder.className = "cnv-boxdraw";
  holder.style.cssText = "position:relative;width:100%;touch-action:none;user-select:none;cursor:crosshair;";
  const image = document.createElement("img");
  image.draggable = false;
  image.style.cssText = "display:block;width:100%;height:auto;image-rendering:pixelated;";
  const rect = document.createElement("div");
  rect.className = "cnv-box";
  rect.style.cssText =
    "position:absolute;display:none;box-sizing:border-box;border:3px solid #16a34a;" +
    "outline:1px solid rgba(0,0,0,0.6);pointer-events:none;";
  holder.append(image, rect);
  parentElement.appendChild(holder);
  const view = { holder, image, rect, start: null, box: null, target: null, send: null };
  const at = (event) => {
    const bounds = image.getBoundingClientRect();
    return [clamp((event.clientX - bounds.left) / bounds.width), clamp((event.clientY - bounds.top) / bounds.height)];
  };
  holder.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    holder.setPointerCapture(event.pointerId);
    view.start = at(event);
    draw(view, [...view.start, ...view.start]);
    event.preventDefault();
  });
  holder.addEventListener("pointermove", (event) => {
    if (view.start) draw(view, ordered(view.start, at(event)));
  });
  holder.addEventListener("pointerup", (event) => {
    if (!view.start) return;
    const box = ordered(view.start, at(event));
    view.start = null;
    // A click, not a drag: the box it had stays drawn (the page says what to do).
    const slip = box[2] - box[0] < 0.02 || box[3] - box[1] < 0.02;
    if (!slip) view.box = box;
    draw(view, view.box);
    view.send("box", { box, target: view.target, unix_time: Date.now() });
  });
  holder.addEventListener("pointercancel", () => {
    view.start = null;
    draw(view, view.box);
  });
  return view;
}

// Streamlit runs a call's cleanup when the element goes, and also when newer data arrived while the call
// was starting (its module loading): then the element stays and the next call takes the view on. So the
// cleanup waits a moment, and does nothing if the view was called again.
function laterUnlessCalledAgain(view, call, destroy) {
  setTimeout(() => {
    if (view.calls === call) destroy();
  }, 0);
}

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  if (!data || typeof data.src !== "string") return undefined;
  let view = views.get(parentElement);
  if (!view) {
    view = build(parentElement);
    views.set(parentElement, view);
  }
  view.send = setStateValue;
  view.target = data.target ?? null;
  if (view.image.getAttribute("src") !== data.src) view.image.setAttribute("src", data.src);
  view.image.alt = data.alt || "";
  if (!view.start) {
    view.box = Array.isArray(data.box) && data.box.length === 4 ? data.box.map(Number) : null;
    draw(view, view.box);
  }
  const call = (view.calls = (view.calls || 0) + 1);
  return () =>
    laterUnlessCalledAgain(view, call, () => {
      view.holder.remove();
      views.delete(parentElement);
    });
}
