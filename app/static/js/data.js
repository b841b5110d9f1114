// The data page: j/k through the rows, x ticks one, Enter opens it; exporting the selection.
(function () {
  "use strict";
  const { download } = window.derivlab;

  // ---- the data page: j/k move through the rows, x ticks one, Enter (or o) opens it ----------
  // The row last opened is current again on the way back (remembered per view, this tab).
  const ROW_KEY = () => "data-row:" + (document.getElementById("data")?.dataset.here || "");
  function dataRows() { return Array.from(document.querySelectorAll("#data-table tbody tr[data-id]")); }
  function setCurrent(row) {
    dataRows().forEach((r) => r.classList.toggle("current", r === row));
    if (row) { row.scrollIntoView({ block: "nearest" }); sessionStorage.setItem(ROW_KEY(), row.dataset.id); }
  }
  function restoreCurrent() {
    const id = sessionStorage.getItem(ROW_KEY());
    const row = dataRows().find((r) => r.dataset.id === id);
    if (row) setCurrent(row);
  }
  document.addEventListener("DOMContentLoaded", restoreCurrent);
  document.addEventListener("htmx:after:swap", restoreCurrent);
  document.addEventListener("click", (evt) => {
    const exporting = evt.target.closest("[data-export-selection]");
    if (exporting) {  // a download (a GET): the view's parameters and the ticked rows
      const params = new URLSearchParams();
      document.querySelectorAll("#bulk input[type=hidden]").forEach((i) => { if (i.name !== "csrf_token") params.append(i.name, i.value); });
      dataRows().forEach((r) => { const box = r.querySelector("input[name=ids]"); if (box.checked) params.append("ids", box.value); });
      const format = document.getElementById(exporting.dataset.formatFrom).value;  // export.jsonl, export/step.csv, training/…
      download("", `${exporting.dataset.exportSelection}/${format}?${params}`);  // "": the server names the file
    }
    const all = evt.target.closest("[data-tick-all]");
    if (all) dataRows().forEach((r) => { r.querySelector("input[name=ids]").checked = all.checked; });
    const open = evt.target.closest("#data-table a.open");
    if (open) setCurrent(open.closest("tr"));
  });
  document.addEventListener("keydown", (evt) => {
    if (!document.getElementById("data-table") || evt.ctrlKey || evt.metaKey || evt.altKey) return;
    if (evt.target.closest("input:not([type=checkbox]), textarea, select")) return;
    const rows = dataRows();
    if (!rows.length) return;
    const at = rows.findIndex((r) => r.classList.contains("current"));
    if (evt.key === "j" || evt.key === "k") {
      evt.preventDefault();
      setCurrent(rows[Math.max(0, Math.min(rows.length - 1, at + (evt.key === "j" ? 1 : -1)))] || rows[0]);
    } else if ((evt.key === "Enter" || evt.key === "o") && at >= 0) {
      evt.preventDefault();
      rows[at].querySelector("a.open").click();
    } else if (evt.key === "x" && at >= 0) {
      const box = rows[at].querySelector("input[name=ids]");
      box.checked = !box.checked;
    }
  });
})();
