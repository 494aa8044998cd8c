// How the dashboard's scripts write times and numbers: as the server
// renders them, so rows and labels added live look like the rest.
(() => {
  "use strict";
  // Empty for a time a Date cannot hold.
  const time = seconds => {
    const date = new Date(seconds * 1000);
    return Number.isNaN(date.getTime()) ? "" : date.toISOString().slice(0, 19).replace("T", " ");
  };
  const number = value => {
    if (value === null || value === undefined) return "";
    const magnitude = Math.abs(value);
    if (magnitude !== 0 && (magnitude < 1e-3 || magnitude >= 1e9)) return value.toExponential(3).replace("+", "");
    return String(Number(value.toFixed(4)));
  };
  window.anomalyFormat = { time, number };
})();
