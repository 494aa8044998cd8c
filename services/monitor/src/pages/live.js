// The live page: follows GET /events (EventSource reconnects by itself,
// resuming after the last event id) and adds each anomaly at the top of the
// table, in the shape the server renders its rows. Needs format.js and
// labels.js.
(() => {
  "use strict";
  const MAX_ROWS = 200;
  const rows = document.getElementById("anomaly-rows");
  const status = document.getElementById("live-status");
  const received = document.getElementById("live-count");
  const page = new URLSearchParams(location.search);
  const filters = new URLSearchParams();
  for (const key of ["series_id", "source"]) {
    if (page.get(key)) filters.set(key, page.get(key));
  }
  let count = 0;

  const cell = (text, className) => {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    return td;
  };
  const { time, number } = window.anomalyFormat;
  const setStatus = (text, state) => {
    status.textContent = text;
    status.className = "state " + state;
  };

  const addRow = anomaly => {
    const tr = document.createElement("tr");
    tr.className = "anomaly fresh";
    const link = document.createElement("a");
    link.href = "/dashboard/series/" + encodeURIComponent(anomaly.series_id) +
      (anomaly.model_version ? "?version=" + encodeURIComponent(anomaly.model_version) : "");
    link.textContent = anomaly.series_id;
    const series = document.createElement("td");
    series.appendChild(link);
    const judgedBy = [anomaly.detector, anomaly.model_version].filter(Boolean).join(" ");
    const source = cell(anomaly.source);
    if (anomaly.muted) {
      const tag = document.createElement("span");
      tag.className = "tag";
      tag.title = "judged during a mute: no webhook fired";
      tag.textContent = "muted";
      source.append(" ", tag);
    }
    tr.append(cell(time(anomaly.timestamp)), series, cell(number(anomaly.value), "num"),
      cell(number(anomaly.score), "num"), source, cell(judgedBy),
      cell(anomaly.recorded_at.slice(0, 19).replace("T", " ")), window.anomalyLabels.cell(anomaly));
    window.anomalyLabels.mark(tr, anomaly.label);
    rows.querySelector("tr.empty")?.remove();
    rows.prepend(tr);
    while (rows.children.length > MAX_ROWS) rows.lastElementChild.remove();
    received.textContent = String(++count);
  };

  const events = new EventSource("/events" + (filters.size ? "?" + filters : ""));
  events.onopen = () => setStatus("live", "up");
  events.onerror = () => setStatus("reconnecting…", "down");
  events.addEventListener("anomaly", event => addRow(JSON.parse(event.data)));
  events.addEventListener("lagged", () => setStatus("live (caught up after falling behind)", "up"));
})();
