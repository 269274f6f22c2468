// A Plotly chart that is updated in place (app_support/common/live_chart.py): Plotly.react on the same
// <div> every time Python sends the figure again, with `uirevision` set, so a zoom or a hidden legend
// entry stays while new points arrive. st.plotly_chart gives a figure with new data a new element, which
// the browser builds from scratch (a learner's zoom reset every second while a run trained).
// data: {figure: {data, layout}, config, src (where the server serves plotly.min.js)}.
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
      return Plotly.react(view.div, data.figure.data, layout, data.config);
    })
    .catch((error) => {
      view.div.textContent = `The chart could not be drawn (${error.message}): reload the page.`;
    });
  return () => {
    if (window.Plotly) window.Plotly.purge(view.div);
    view.div.remove();
    charts.delete(parentElement);
  };
}
