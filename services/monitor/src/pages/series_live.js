// The live chart of a series page: starts with the latest stored points
// (data-initial: [timestamp, value, anomaly], oldest first), follows
// GET /events?series_id= and draws the newest points the stream judges
// (event: verdict) as a line, anomalies as red dots, scrolling.
// Needs format.js.
(() => {
  "use strict";
  const MAX_POINTS = 300;
  const WIDTH = 960, HEIGHT = 220, LEFT = 84, RIGHT = 12, TOP = 12, BOTTOM = 26;
  const SVG = "http://www.w3.org/2000/svg";
  const chart = document.getElementById("live-chart");
  const status = document.getElementById("live-chart-status");
  const missed = document.getElementById("live-chart-missed");
  const svg = chart.querySelector("svg");
  const { time, number } = window.anomalyFormat;
  const points = [];
  let received = 0, anomalies = 0;

  const element = (name, attributes, text) => {
    const node = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
    if (text !== undefined) node.textContent = text;
    return node;
  };

  const draw = () => {
    let low = Infinity, high = -Infinity;
    for (const point of points) {
      low = Math.min(low, point.value);
      high = Math.max(high, point.value);
    }
    // Halves first: the span of values near ±1.7e308 stays finite.
    const span = high / 2 - low / 2;
    const bottom = HEIGHT - BOTTOM, plotHeight = HEIGHT - TOP - BOTTOM;
    const y = value => span > 0 ? bottom - ((value / 2 - low / 2) / span) * plotHeight : TOP + plotHeight / 2;
    const x = index => LEFT + index * (WIDTH - LEFT - RIGHT) / (MAX_POINTS - 1);
    const nodes = [
      element("line", { x1: LEFT, y1: TOP, x2: LEFT, y2: bottom, stroke: "#cdd3dd" }),
      element("line", { x1: LEFT, y1: bottom, x2: WIDTH - RIGHT, y2: bottom, stroke: "#cdd3dd" }),
      element("text", { x: LEFT - 6, y: TOP + 10, "text-anchor": "end", "font-size": 11, fill: "#667085" }, number(high)),
      element("text", { x: LEFT - 6, y: bottom, "text-anchor": "end", "font-size": 11, fill: "#667085" }, number(low)),
      element("polyline", {
        points: points.map((point, index) => `${x(index).toFixed(1)},${y(point.value).toFixed(1)}`).join(" "),
        fill: "none", stroke: "#2856c8", "stroke-width": 1.5,
      }),
    ];
    points.forEach((point, index) => {
      if (point.anomaly) nodes.push(element("circle", { cx: x(index), cy: y(point.value), r: 4, fill: "#c0262d", class: "anomaly" }));
    });
    if (points.length) {
      const first = points[0], last = points[points.length - 1];
      nodes.push(element("text", { x: LEFT, y: HEIGHT - 8, "font-size": 11, fill: "#667085" }, "from " + time(first.timestamp)));
      nodes.push(element("text", { x: WIDTH - RIGHT, y: HEIGHT - 8, "text-anchor": "end", "font-size": 11, fill: "#667085" }, "to " + time(last.timestamp)));
    }
    svg.replaceChildren(...nodes);
  };

  for (const [timestamp, value, anomaly] of JSON.parse(chart.dataset.initial || "[]")) {
    points.push({ timestamp, value, anomaly });
  }
  if (points.length) draw();

  let pending = false;
  const add = verdict => {
    points.push(verdict);
    if (points.length > MAX_POINTS) points.shift();
    received += 1;
    if (verdict.anomaly) anomalies += 1;
    const state = verdict.warming_up ? "warming up"
      : verdict.score === null ? "score beyond the finite range" : `score ${number(verdict.score)}`;
    status.textContent = `${received} points since the page opened, ${anomalies} anomalous; last ${number(verdict.value)} at ${time(verdict.timestamp)} (${state})`;
    // One drawing per frame, however fast verdicts come.
    if (!pending) {
      pending = true;
      requestAnimationFrame(() => { pending = false; draw(); });
    }
  };

  const events = new EventSource("/events?" + new URLSearchParams({ series_id: chart.dataset.series, source: "stream" }));
  events.addEventListener("verdict", event => add(JSON.parse(event.data)));
  // The page fell behind the feed: the chart goes on with a gap.
  events.addEventListener("verdicts_missed", () => { missed.hidden = false; });
  events.onerror = () => { status.textContent = "reconnecting…"; };
})();
