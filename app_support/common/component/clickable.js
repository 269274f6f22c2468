// A picture you can click (app_support/common/clickable.py): shown as wide as its column, in the page
// itself (no iframe, so its height is always the picture's). A click sends where it landed, in CSS
// pixels of the picture as shown, with that size: {x, y, width, height, unix_time}.
// data: {src (a data: URL), alt, cursor}. Nothing is fetched.
const shown = new WeakMap(); // parentElement -> {image, send}

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
  let view = shown.get(parentElement);
  if (!view) {
    const image = document.createElement("img");
    image.className = "cnv-clickable";
    image.draggable = false;
    image.style.cssText = "display:block;width:100%;height:auto;user-select:none;";
    view = { image, send: setStateValue };
    image.addEventListener("click", (event) => {
      const box = image.getBoundingClientRect();
      if (!box.width || !box.height) return;
      view.send("click", {
        x: Math.min(Math.max(event.clientX - box.left, 0), box.width),
        y: Math.min(Math.max(event.clientY - box.top, 0), box.height),
        width: box.width,
        height: box.height,
        unix_time: Date.now(),
      });
    });
    parentElement.appendChild(image);
    shown.set(parentElement, view);
  }
  view.send = setStateValue;
  if (view.image.getAttribute("src") !== data.src) view.image.setAttribute("src", data.src);
  view.image.alt = data.alt || "";
  view.image.style.cursor = data.cursor || "crosshair";
  const call = (view.calls = (view.calls || 0) + 1);
  return () =>
    laterUnlessCalledAgain(view, call, () => {
      view.image.remove();
      shown.delete(parentElement);
    });
}
