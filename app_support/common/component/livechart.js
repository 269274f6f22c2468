// A Plotly chart that is updated in place (app_support/common/live_chart.py): Plotly.react on the same
// <div> every time Python sends the figure again, with `uirevision` set, so a zoom or a hidden legend
// entry stays while new points arrive. st.plotly_chart gives a figure with new data a new element, which
// the browser builds from scratch (a learner's zoom reset every second while a run trained).
// data: {figure: {data, layout}, config, src (where the server serves plotly.min.js), tick_steps}.
const loading = new Map(); // src -> Promise of window.Plotly
const charts = new WeakMap(); // parentElement -> {div, latest}

function plotly(src) {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!loading.has(src)) {
    loading.set(
      src,
      new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = src;
        script.async = true;
        script.onload = () => (window.Plotly ? resolve(window.Plotly) : reject(new Error("no Plotly in " + src)));
        script.onerror = () => {
          loading.delete(src); // the next update tries again
          script.remove();
          reject(new Error("could not load " + src));
        };
        document.head.appendChild(script);
      }),
    );
  }
  return loading.get(src);
}

// An x axis ticked every `dtick` whole units (epochs) keeps at most 8 steps over what the learner zoomed
// into, in the steps Python ticks a whole run in (data.tick_steps, charts.EPOCH_STEPS): the whole run's
// step left a zoom of a few epochs with no numbers at all.
function zoomedStep(div, steps) {
  const axis = div._fullLayout && div._fullLayout.xaxis;
  if (!axis || axis.autorange || !Array.isArray(axis.range) || !steps.length) return null;
  const span = Math.abs(axis.range[1] - axis.range[0]);
  return steps.find((step) => Math.ceil(span / step) <= 8) || steps[steps.length - 1];
}

function withTicks(div, layout, steps) {
  const step = layout.xaxis && layout.xaxis.dtick ? zoomedStep(div, steps) : null;
  return step ? { ...layout, xaxis: { ...layout.xaxis, dtick: step } } : layout;
}

function followZoom(view) {
  view.div.on("plotly_relayout", (change) => {
    const given = view.latest.figure.layout.xaxis;
    const zoomed = Object.keys(change).some((key) => key.startsWith("xaxis.range") || key === "xaxis.autorange");
    if (!given || !given.dtick || !zoomed) return;
    const step = change["xaxis.autorange"] ? given.dtick : zoomedStep(view.div, view.latest.tick_steps || []);
    if (step && step !== view.div._fullLayout.xaxis.dtick) window.Plotly.relayout(view.div, { "xaxis.dtick": step });
  });
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
  const { data, parentElement } = component;
  if (!data || !data.figure) return undefined;
  let view = charts.get(parentElement);
  if (!view) {
    const div = document.createElement("div");
    div.className = "cnv-live-chart";
    div.setAttribute("role", "img");
    parentElement.appendChild(div);
    view = { div, latest: null };
    charts.set(parentElement, view);
  }
  view.latest = data;
  const { layout } = data.figure;
  // The room the chart takes from the start: the page does not jump when Plotly arrives.
  view.div.style.minHeight = `${layout.height || 450}px`;
  view.div.setAttribute("aria-label", (layout.title && layout.title.text) || "chart");
  plotly(data.src)
    .then((Plotly) => {
      if (view.latest !== data) return; // a newer figure came meanwhile: that one is drawn
      return Plotly.react(view.div, data.figure.data, withTicks(view.div, layout, data.tick_steps || []), data.config).then(() => {
        if (!view.following) {
          view.following = true;
          followZoom(view);
        }
      });
    })
    .catch((error) => {
      view.div.textContent = `The chart could not be drawn (${error.message}): reload the page.`;
    });
  const call = (view.calls = (view.calls || 0) + 1);
  return () =>
    laterUnlessCalledAgain(view, call, () => {
      if (window.Plotly) window.Plotly.purge(view.div);
      view.div.remove();
      charts.delete(parentElement);
    });
}
