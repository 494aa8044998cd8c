// Labels on anomaly rows: each row's small form has two buttons, "Real"
// (true_positive) and "False alarm" (false_positive); a click sends
// PUT /anomalies/{id}/label as JSON (the browser adds the key it was asked
// for, when API keys are set; the label needs one with the write scope)
// and marks the row. window.anomalyLabels.cell builds the same cell for
// rows added live.
(() => {
  "use strict";
  const NAMES = { true_positive: "real", false_positive: "false alarm" };

  const mark = (row, label) => {
    row.dataset.label = label || "";
    const state = row.querySelector(".label-state");
    state.textContent = NAMES[label] || "unlabelled";
    state.className = "label-state " + (label || "unlabelled");
  };

  const cell = anomaly => {
    const td = document.createElement("td");
    td.className = "label-cell";
    const state = document.createElement("span");
    state.className = "label-state";
    const form = document.createElement("form");
    form.className = "label-form";
    form.method = "post";
    form.action = "/anomalies/" + encodeURIComponent(anomaly.id) + "/label";
    form.dataset.id = anomaly.id;
    for (const [value, text] of [["true_positive", "Real"], ["false_positive", "False alarm"]]) {
      const button = document.createElement("button");
      button.type = "submit";
      button.name = "label";
      button.value = value;
      button.textContent = text;
      form.appendChild(button);
    }
    td.append(state, form);
    return td;
  };

  document.addEventListener("submit", async event => {
    const form = event.target.closest("form.label-form");
    if (!form) return;
    event.preventDefault();
    const row = form.closest("tr");
    const label = event.submitter && event.submitter.value;
    const state = row.querySelector(".label-state");
    try {
      const answer = await fetch("/anomalies/" + encodeURIComponent(form.dataset.id) + "/label", {
        method: "PUT",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ label }),
      });
      if (answer.ok) {
        mark(row, (await answer.json()).label);
      } else if (answer.status === 401 || answer.status === 403) {
        state.textContent = "needs a key with the write scope";
        state.className = "label-state refused";
      } else {
        const error = await answer.json().catch(() => ({}));
        state.textContent = error.message || "not saved (" + answer.status + ")";
        state.className = "label-state refused";
      }
    } catch (error) {
      state.textContent = "not saved: " + error.message;
      state.className = "label-state refused";
    }
  });

  window.anomalyLabels = { cell, mark };
})();
