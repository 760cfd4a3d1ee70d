// The live decision stream of the console's Decisions page: server-sent events appended to the
// table as text (never as HTML), the newest first, at most maxRows kept.
"use strict";
(function () {
  const table = document.getElementById("decisions");
  if (!table || !window.EventSource) {
    return;
  }
  const maxRows = 500;
  const body = table.tBodies[0];
  const state = document.getElementById("stream-state");
  const dropped = document.getElementById("dropped");
  const cell = (row, text, cls) => {
    const td = row.insertCell();
    td.textContent = text;
    if (cls) {
      td.className = cls;
    }
  };
  const source = new EventSource(table.dataset.stream);
  source.onopen = () => { state.textContent = "Live."; };
  source.onerror = () => { state.textContent = "Reconnecting…"; };
  source.addEventListener("dropped", (e) => {
    dropped.textContent = e.data + " decisions were not shown (the page could not keep up).";
  });
  source.addEventListener("decision", (e) => {
    const d = JSON.parse(e.data);
    const row = body.insertRow(0);
    row.dataset.outcome = d.outcome;
    cell(row, (d.timestamp || "").replace("T", " ").replace(/\.\d+/, ""));
    cell(row, [d.app, d.env, d.version].filter(Boolean).join(" / "));
    cell(row, d.resource_kind + " " + d.resource);
    cell(row, d.security_test);
    cell(row, d.outcome + (d.step ? " (step " + d.step + ")" : ""), "outcome " + d.outcome);
    cell(row, "passed: " + (d.realms_passed || []).join(", ") +
      ((d.realms_challenged || []).length ? "; challenged: " + d.realms_challenged.join(", ") : ""));
    cell(row, (d.reasons || []).join("; "));
    while (body.rows.length > maxRows) {
      body.deleteRow(body.rows.length - 1);
    }
  });
})();
