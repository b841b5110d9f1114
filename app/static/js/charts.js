// Charts and tables (breakdown, dashboards): Chart.js, the heatmap, PNG and CSV downloads.
(function () {
  "use strict";
  const { download, enhancers } = window.derivlab;

  // ---- charts ------------------------------------------------------------
  const PALETTE = ["#c0392b", "#8e44ad", "#2980b9", "#d68910", "#16a085", "#7f8c8d"];
  let chart = null;
  function renderChart(root) {
    const dataEl = root.querySelector("#breakdown-data");
    const canvas = root.querySelector("#breakdown-chart");
    if (!dataEl || !canvas || !window.Chart) return;
    const data = JSON.parse(dataEl.textContent);
    if (chart) chart.destroy();
    chart = new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.models,
        datasets: data.series.map((s, i) => ({ label: s.label, data: s.data, backgroundColor: PALETTE[i % PALETTE.length] })),
      },
      options: {
        animation: false,
        scales: { y: { beginAtZero: true, title: { display: true, text: "% of judged steps" } } },
      },
    });
  }

  // ---- dashboards --------------------------------------------------------
  const boards = {};
  // A chart with nothing to draw says so (an empty frame reads as "all zero").
  function noData(canvas) {
    const ctx = canvas.getContext("2d");
    canvas.width = canvas.clientWidth || 600;
    canvas.height = Math.max(60, canvas.clientHeight || 60);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.fillStyle = "#777"; ctx.font = "14px sans-serif"; ctx.textAlign = "center"; ctx.textBaseline = "middle";
    ctx.fillText("no data for these filters", canvas.width / 2, canvas.height / 2);
    canvas.dataset.empty = "true";
  }
  function chartOn(id, config, empty) {
    const canvas = document.getElementById(id);
    if (!canvas || !window.Chart) return;
    if (boards[id]) { boards[id].destroy(); delete boards[id]; }
    if (empty) { noData(canvas); return; }
    delete canvas.dataset.empty;
    boards[id] = new Chart(canvas, { ...config, options: { animation: false, ...config.options } });
  }
  // The heatmap is drawn by hand on a canvas (Chart.js has none built in): one cell
  // per model x perturbation x figure, red for worse-than-static error rates.
  function drawHeatmap(canvas, effects) {
    if (!canvas) return;
    const ctx = canvas.getContext("2d");
    const rows = [];
    effects.rows.forEach((m) => effects.columns.forEach((p) => rows.push([m, p])));
    const left = 190, top = 70, cw = Math.max(46, (canvas.clientWidth - left - 10) / effects.keys.length), ch = 20;
    canvas.width = left + cw * effects.keys.length + 10;
    canvas.height = top + ch * rows.length + 10;
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.font = "11px sans-serif"; ctx.textBaseline = "middle";
    effects.names.forEach((name, i) => {
      ctx.save(); ctx.translate(left + cw * i + cw / 2, top - 6); ctx.rotate(-Math.PI / 4);
      ctx.fillStyle = "#333"; ctx.fillText(name, 0, 0); ctx.restore();
    });
    rows.forEach(([m, p], r) => {
      ctx.fillStyle = "#333"; ctx.fillText(`${m} · ${p}`, 4, top + ch * r + ch / 2);
      effects.keys.forEach((key, i) => {
        const v = effects.delta[m]?.[p]?.[key];
        const metric = ["rouge2", "bleu", "gleu", "goal_reached"].includes(key);
        let color = "#eee";
        if (v !== null && v !== undefined) {
          const bad = metric ? -v : v; // more errors, or lower metric/goal: worse
          const t = Math.min(1, Math.abs(bad) * 4);
          color = bad > 0 ? `rgba(192,57,43,${0.15 + 0.85 * t})` : `rgba(22,160,133,${0.15 + 0.85 * t})`;
        }
        ctx.fillStyle = color; ctx.fillRect(left + cw * i + 1, top + ch * r + 1, cw - 2, ch - 2);
        if (v !== null && v !== undefined) {
          ctx.fillStyle = "#111"; ctx.fillText((v >= 0 ? "+" : "") + v.toFixed(2), left + cw * i + 4, top + ch * r + ch / 2);
        }
      });
    });
  }
  function renderDashboards(root) {
    const dataEl = root.querySelector("#dashboard-data");
    if (!dataEl) return;
    const data = JSON.parse(dataEl.textContent);
    chartOn("chart-errors", {
      type: "bar",
      data: { labels: data.errors.models, datasets: data.errors.series.map((s, i) => ({ label: s.label, data: s.data, backgroundColor: PALETTE[i % PALETTE.length] })) },
      options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, title: { display: true, text: "% of judged steps (stacked by label)" } } } },
    }, !data.errors.judged);
    const effects = document.getElementById("chart-effects");
    if (effects && !data.errors.judged) noData(effects);
    else drawHeatmap(effects, data.effects);
    const byModel = {};
    data.points.forEach((p) => (byModel[p.model] ||= []).push({ x: p.x, y: p.y }));
    chartOn("chart-metrics", {
      type: "scatter",
      data: { datasets: Object.entries(byModel).map(([m, pts], i) => ({ label: m, data: pts, backgroundColor: PALETTE[i % PALETTE.length] })) },
      options: { scales: { x: { title: { display: true, text: "ROUGE-2" } }, y: { title: { display: true, text: "labelled steps per judgement" } } } },
    }, !data.points.length);
    chartOn("chart-checker", {
      type: "bar",
      data: { labels: data.checker.labels, datasets: [
        { label: "precision", data: data.checker.precision, backgroundColor: PALETTE[2] },
        { label: "recall", data: data.checker.recall, backgroundColor: PALETTE[3] }] },
      options: { scales: { y: { min: 0, max: 100, title: { display: true, text: "% (precision, recall)" } } } },
    }, !data.checker.labels.length);
    chartOn("chart-throughput", {
      type: "bar",
      data: { labels: data.throughput.days, datasets: [{ label: "judgements per day", data: data.throughput.n, backgroundColor: PALETTE[4] }] },
      options: { scales: { y: { beginAtZero: true, title: { display: true, text: "judgements" } } } },
    }, !data.throughput.days.length);
  }

  // Every chart downloads as PNG, every table as CSV (built from the table itself).
  // Numbers, not what the cell shows: a cell with data-v gives its value (a rate 0–1), and
  // with data-lo/data-hi its interval's ends, each in a column of its own.
  function tableCsv(table) {
    const quote = (v) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
    const text = (c) => c.innerText.replace(/\s+/g, " ").replace(/ ?PNG · CSV| ?CSV$/, "").trim();
    return Array.from(table.rows).map((row) =>
      Array.from(row.cells).flatMap((c) => {
        if (c.tagName === "TH" && c.hasAttribute("data-ci")) return [text(c), text(c) + " low", text(c) + " high"];
        if (c.dataset.lo !== undefined) return [c.dataset.v, c.dataset.lo, c.dataset.hi];
        if (c.dataset.v !== undefined) return [c.dataset.v];
        const shown = text(c);
        return [shown === "–" ? "" : shown];
      }).map(quote).join(",")
    ).join("\n") + "\n";
  }
  // A chart's PNG says what it shows: the chart's title, the project, the filters in force
  // and the day, drawn around the chart on a white page (a bare canvas says none of it).
  function chartCaption(button) {
    const heading = button.closest("h2")?.cloneNode(true);
    heading?.querySelector(".downloads")?.remove();
    const title = heading ? heading.textContent.replace(/\s+/g, " ").trim() : button.dataset.name;
    const project = document.querySelector("h1 small a, h1 small")?.textContent.replace(/^[·\s]+/, "").trim() || "";
    const filters = Array.from(document.querySelectorAll("form.filters select, form.filters input"))
      .filter((el) => el.name && el.type !== "hidden")
      .map((el) => {
        const label = el.closest("label")?.childNodes[0]?.textContent.trim() || el.name;
        const shown = el.tagName === "SELECT" ? el.options[el.selectedIndex]?.text : el.value;
        return `${label}: ${shown || "all"}`;
      });
    return { title, sub: [project, ...filters].filter(Boolean).join(" · ") };
  }
  function framedChart(canvas, button) {
    const { title, sub } = chartCaption(button);
    button.title = `${title} — ${sub}`;  // what the picture says, also to whoever hovers the button
    const k = canvas.width / (canvas.clientWidth || canvas.width);  // device pixels per CSS pixel
    const pad = 16 * k, head = 58 * k, foot = 24 * k;
    const out = document.createElement("canvas");
    out.width = canvas.width + 2 * pad; out.height = canvas.height + head + foot;
    const ctx = out.getContext("2d");
    ctx.fillStyle = "#ffffff"; ctx.fillRect(0, 0, out.width, out.height);
    ctx.fillStyle = "#1d2430"; ctx.font = `600 ${18 * k}px system-ui, sans-serif`;
    ctx.fillText(title, pad, 26 * k, out.width - 2 * pad);
    ctx.fillStyle = "#667085"; ctx.font = `${12 * k}px system-ui, sans-serif`;
    ctx.fillText(sub, pad, 46 * k, out.width - 2 * pad);
    ctx.drawImage(canvas, pad, head);
    ctx.fillText(`Derivation Lab · ${new Date().toISOString().slice(0, 10)}`, pad, out.height - 8 * k);
    return out.toDataURL("image/png");
  }
  document.addEventListener("click", (evt) => {
    const png = evt.target.closest("[data-png]");
    if (png) {
      const canvas = document.getElementById(png.dataset.png);
      if (canvas) download(`${png.dataset.name}.png`, framedChart(canvas, png));
    }
    const csvButton = evt.target.closest("[data-csv]");
    if (csvButton) {
      const table = document.getElementById(csvButton.dataset.csv);
      const blob = new Blob([tableCsv(table)], { type: "text/csv" });
      download(`${csvButton.dataset.name}.csv`, URL.createObjectURL(blob));
    }
  });

  enhancers.push(renderChart, renderDashboards);
})();
