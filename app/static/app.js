// Derivation Lab front end: CSRF header for htmx, KaTeX rendering, annotation keys, charts.
(function () {
  "use strict";

  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

  // Every htmx request carries the session's CSRF token.
  // The annotate page sends the annotation version it shows and this tab's id with each
  // change; the server refuses a change from a tab that missed another tab's change.
  // The headers are set when the request leaves the queue (before:request), not when it
  // joins it, so a queued change carries the version its predecessor produced.
  const tab = Math.random().toString(36).slice(2) + Date.now().toString(36);
  document.addEventListener("htmx:config:request", (evt) => {
    evt.detail.ctx.request.headers["X-CSRF-Token"] = csrf();
  });
  document.addEventListener("htmx:before:request", (evt) => {
    const page = document.getElementById("annotate");
    if (page && page.dataset.version !== undefined) {
      evt.detail.ctx.request.headers["X-Annotation-Version"] = page.dataset.version;
      evt.detail.ctx.request.headers["X-Tab"] = tab;
    }
  });

  // ---- math --------------------------------------------------------------
  // KaTeX with trust off; what it cannot render stays as raw text, still taggable.
  const DELIMITERS = [
    { left: "$$", right: "$$", display: true }, { left: "\\[", right: "\\]", display: true },
    { left: "$", right: "$", display: false }, { left: "\\(", right: "\\)", display: false },
  ];
  function renderMath(root) {
    if (!window.katex) return;
    // prose with delimited math (chain of thought): text stays text, the math is rendered
    // Each step on its own: an error (a parse error, or a RangeError from 3,000 nested braces,
    // which auto-render does not catch) costs that step only, never the steps after it.
    root.querySelectorAll(".math[data-mixed]:not([data-rendered])").forEach((el) => {
      el.textContent = el.dataset.raw;
      try {
        if (window.renderMathInElement) {
          renderMathInElement(el, { delimiters: DELIMITERS, throwOnError: false, trust: false, strict: "ignore" });
        }
        el.dataset.rendered = "katex-prose";
      } catch (err) {
        showRaw(el, el.dataset.raw, err);
      }
    });
    root.querySelectorAll(".math[data-latex]:not([data-rendered])").forEach((el) => {
      const latex = el.dataset.latex;
      try {
        katex.render(latex, el, { throwOnError: true, trust: false, strict: "ignore", displayMode: false });
        el.dataset.rendered = "katex";
      } catch (err) {
        showRaw(el, el.dataset.raw ?? latex, err);
      }
    });
  }
  function showRaw(el, text, err) {
    el.textContent = text;
    el.dataset.rendered = "raw";
    el.classList.add("unrendered");
    el.title = "KaTeX could not render this step; its raw LaTeX is shown. " + ((err && err.message) || "");
  }

  // ---- live LaTeX preview (a correction typed on the review page) -----------
  // the same KaTeX settings as the steps: trust off, raw text when it cannot render
  document.addEventListener("input", (evt) => {
    const input = evt.target.closest ? evt.target.closest("[data-preview]") : null;
    const out = input && document.getElementById(input.dataset.preview);
    if (!out || !window.katex) return;
    try {
      katex.render(input.value, out, { throwOnError: true, trust: false, strict: "ignore", displayMode: false });
      out.classList.remove("unrendered");
    } catch (err) {
      out.textContent = input.value;
      out.classList.add("unrendered");
    }
  });

  // ---- import: the upload shows its progress ---------------------------------
  // htmx 4 sends with fetch, which reports no upload progress: this form goes by
  // XMLHttpRequest, answered like an htmx request (the result block, or an error for #flash).
  document.addEventListener("submit", (evt) => {
    const form = evt.target;
    if (form.id !== "import-form") return;
    evt.preventDefault();
    const bar = document.getElementById("import-progress");
    const status = document.getElementById("import-status");
    const button = form.querySelector("button[type=submit]");
    const done = (message) => { button.disabled = false; bar.hidden = true; status.textContent = message || ""; };
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("HX-Request", "true");
    xhr.setRequestHeader("X-CSRF-Token", csrf());
    xhr.upload.onprogress = (e) => {
      if (!e.lengthComputable) return;
      bar.max = e.total; bar.value = e.loaded;
      status.textContent = `Uploading: ${Math.round((100 * e.loaded) / e.total)}% of ${(e.total / 1048576).toFixed(1)} MB`;
    };
    xhr.upload.onload = () => { bar.removeAttribute("value"); status.textContent = "Uploaded; reading and checking the file…"; };
    xhr.onerror = () => done("The upload stopped: the server closed the connection (a file over the size limit is " +
                             "refused as it arrives) or could not be reached. Nothing was imported.");
    xhr.onload = () => {
      const redirect = xhr.getResponseHeader("HX-Redirect");
      if (redirect) { window.location.href = redirect; return; }
      done();
      const result = document.getElementById("import-result");
      if (xhr.getResponseHeader("HX-Retarget") === "#flash" || xhr.status >= 400) {  // an error: in the flash area
        document.getElementById("flash").innerHTML = xhr.responseText;
        document.getElementById("flash").scrollIntoView({ block: "nearest" });
      } else {
        document.getElementById("flash").innerHTML = "";
        result.outerHTML = xhr.responseText;
        document.getElementById("import-result").scrollIntoView({ block: "nearest" });
      }
    };
    button.disabled = true; bar.hidden = false; bar.value = 0; status.textContent = "Uploading…";
    xhr.send(new FormData(form));
  });

  // ---- training export: the file's name is the chosen kind and format ------
  document.addEventListener("submit", (evt) => {
    const form = evt.target;
    if (form.id !== "training-export") return;
    form.action = form.dataset.action + form.elements.kind.value + "." + form.elements.fmt.value;
  });

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
  function download(name, href) {
    const a = document.createElement("a");
    a.href = href; a.download = name; document.body.appendChild(a); a.click(); a.remove();
  }
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

  function enhance(root) {
    renderMath(root);
    renderChart(root);
    renderDashboards(root);
  }

  document.addEventListener("DOMContentLoaded", () => enhance(document));
  document.addEventListener("htmx:after:swap", () => enhance(document));
  document.addEventListener("htmx:after:request", (evt) => {
    const version = evt.detail.ctx.response?.headers?.get("X-Annotation-Version");
    const page = document.getElementById("annotate");
    if (page && version) page.dataset.version = version;
  });

  // Dismissable flash messages.
  document.addEventListener("click", (evt) => {
    if (evt.target.matches(".flash .dismiss")) evt.target.closest(".flash").remove();
  });
  document.addEventListener("htmx:before:request", () => {
    const flash = document.getElementById("flash");
    if (flash) flash.innerHTML = "";
  });

  // ---- annotation keys ---------------------------------------------------
  // Changes are queued (hx-sync="#annotate:queue all"): each is sent when the one before
  // has been answered, so none overtakes or drops another. A label key sets what the
  // annotator asked for (want), computed here when the key is pressed, not from the
  // button's last answer: three quick presses are on, off, on whatever the network does.
  const want = new Map(); // "stepId:label" -> wanted on/off
  let pending = 0; // changes not yet answered
  // Of them, requests that leave the page when answered (Submit, Next): not unsaved work, so
  // they must not raise the "Leave site?" warning while the page navigates away.
  let leaving = 0;
  let failed = false; // a change could not be saved: say so, keep the leave warning
  function labelKey(button) {
    return button.closest(".labels").id.slice("labels-".length) + ":" + button.dataset.label;
  }
  function showWanted(root) {
    root.querySelectorAll(".labels button[data-label]").forEach((button) => {
      const wanted = want.get(labelKey(button));
      if (wanted === undefined) return;
      button.classList.toggle("on", wanted);
      button.setAttribute("aria-pressed", String(wanted));
    });
  }
  function setSaving() {
    const page = document.getElementById("annotate");
    if (page) page.dataset.pending = String(pending); // for the browser tests: 0 = every change answered
    const status = document.getElementById("save-status");
    if (status && pending > 0 && !failed) status.innerHTML = '<span class="saving">Saving…</span>';
  }
  function isChange(ctx) {
    const page = document.getElementById("annotate");
    return page && page.contains(ctx.sourceElement) && (ctx.request.method || "").toUpperCase() === "POST";
  }
  document.addEventListener("htmx:config:request", (evt) => {
    const ctx = evt.detail.ctx;
    if (!isChange(ctx)) return;
    const button = ctx.sourceElement.closest?.(".labels button[data-label]");
    if (button) {
      const key = labelKey(button);
      const now = want.has(key) ? want.get(key) : button.getAttribute("aria-pressed") === "true";
      want.set(key, !now);
      ctx.request.action = ctx.request.action.replace(/on=(true|false)/, "on=" + String(!now));
      showWanted(document);
    }
    pending += 1;
    if (ctx.sourceElement.closest?.("[data-leaves]")) leaving += 1;
    setSaving();
  });
  document.addEventListener("htmx:finally:request", (evt) => {
    if (!isChange(evt.detail.ctx)) return;
    pending = Math.max(0, pending - 1);
    if (evt.detail.ctx.sourceElement?.closest?.("[data-leaves]")) leaving = Math.max(0, leaving - 1);
    setSaving(); // an answer said "Saved" while later changes still wait: say "Saving…" until the last
    showWanted(document);
    if (pending === 0) document.dispatchEvent(new Event("derivlab:saved"));
  });
  document.addEventListener("htmx:error", (evt) => {
    if (!isChange(evt.detail.ctx)) return;
    failed = true;
    const flash = document.getElementById("flash");
    if (flash) flash.innerHTML = '<div class="flash error" role="alert"><strong>A change could not be saved</strong> ' +
      '(the server could not be reached). Reload the page to see what was saved, then make it again.</div>';
  });
  // Typed text waits 800 ms before it is sent: until then its form is "dirty".
  const dirty = new Set();
  document.addEventListener("input", (evt) => {
    const form = evt.target.closest?.("#annotate form[hx-post]");
    if (form) dirty.add(form);
  });
  document.addEventListener("htmx:config:request", (evt) => {
    const form = evt.detail.ctx.sourceElement?.closest?.("form");
    if (form) dirty.delete(form);
  });
  window.addEventListener("beforeunload", (evt) => {
    if (pending - leaving > 0 || failed || dirty.size) {
      dirty.forEach((form) => form.dispatchEvent(new Event("change", { bubbles: true }))); // send it now
      evt.preventDefault(); evt.returnValue = "";
    }
  });
  // Leave only once every change is answered (a GET link such as Previous).
  function leaveTo(url) {
    if (pending === 0) { window.location.href = url; return; }
    document.addEventListener("derivlab:saved", () => { window.location.href = url; }, { once: true });
  }
  // Back to a page kept in the browser's memory (bfcache): load the current state instead.
  window.addEventListener("pageshow", (evt) => {
    if (evt.persisted && document.getElementById("annotate")) window.location.reload();
  });

  function setupAnnotate() {
    const page = document.getElementById("annotate");
    if (!page) return;
    const steps = () => Array.from(page.querySelectorAll(".step"));
    const judgement = document.getElementById("judgement");
    const help = document.getElementById("help");
    const guidelines = document.getElementById("guidelines");
    const reference = document.getElementById("reference");
    const refButton = document.getElementById("toggle-reference");

    // Plain form submission would leave the page; htmx saves the fields instead.
    page.querySelectorAll("form[hx-post]").forEach((form) => form.addEventListener("submit", (evt) => evt.preventDefault()));

    function current() {
      return page.querySelector(".step.current");
    }
    function select(step) {
      if (!step) return;
      steps().forEach((s) => s.classList.toggle("current", s === step));
      step.scrollIntoView({ block: "nearest" });
    }
    function move(delta) {
      const all = steps();
      const i = all.indexOf(current());
      select(all[Math.max(0, Math.min(all.length - 1, i + delta))]);
    }
    page.addEventListener("click", (evt) => {
      const step = evt.target.closest(".step");
      if (step) select(step);
    });
    function toggleReference() {
      if (!reference) return;
      reference.hidden = !reference.hidden;
      refButton?.setAttribute("aria-expanded", String(!reference.hidden));
      renderMath(reference);
    }
    refButton?.addEventListener("click", toggleReference);
    document.getElementById("help-button")?.addEventListener("click", () => help.showModal());
    function toggleGuidelines() {
      if (!guidelines) return;
      guidelines.open ? guidelines.close() : guidelines.showModal();
    }
    document.getElementById("guidelines-button")?.addEventListener("click", toggleGuidelines);
    // Shown by itself the first time this browser meets these guidelines (and after they change).
    if (guidelines && page.dataset.guidelines) {
      const seen = "derivlab-guidelines-" + page.dataset.guidelines;
      try {
        if (!localStorage.getItem(seen)) { guidelines.showModal(); localStorage.setItem(seen, "1"); }
      } catch (err) { /* storage refused: show them from the button only */ }
    }
    document.getElementById("previous-link")?.addEventListener("click", (evt) => {
      evt.preventDefault();
      leaveTo(evt.currentTarget.href);
    });

    // Suggestions never overwrite: accepting only turns on labels that are off.
    function acceptSuggestions(step) {
      if (!step) return;
      step.querySelectorAll(".suggestion[data-label]:not(.other-source)").forEach((s) => {
        const button = step.querySelector(`.labels button[data-label="${s.dataset.label}"]`);
        if (button && button.getAttribute("aria-pressed") !== "true") button.click();
      });
    }

    function toggleGoal() {
      const yes = judgement.querySelector('input[name="goal_reached"][value="yes"]');
      const no = judgement.querySelector('input[name="goal_reached"][value="no"]');
      const target = yes.checked ? no : yes;
      target.checked = true;
      target.dispatchEvent(new Event("change", { bubbles: true }));
    }
    function toggleUnsure(step) {
      const box = step?.querySelector('.step-note input[name="unsure"]');
      if (!box) return;
      box.checked = !box.checked;
      step.querySelector(".step-note").classList.add("open");
      box.dispatchEvent(new Event("change", { bubbles: true }));
    }
    function editNote(step) {
      const input = step?.querySelector('.step-note input[name="note"]');
      if (!input) return;
      step.querySelector(".step-note").classList.add("open");
      input.focus();
    }

    document.addEventListener("keydown", (evt) => {
      if (evt.ctrlKey || evt.metaKey || evt.altKey) return;
      const typing = evt.target.closest("input[type=text], input:not([type]), textarea, select");
      if (typing) {
        if (evt.key === "Escape") evt.target.blur();
        return;
      }
      if (help.open && evt.key !== "?") return;
      if (guidelines?.open && evt.key !== "i") return;
      const key = evt.key;
      if (key === "j") move(1);
      else if (key === "k") move(-1);
      else if (/^[1-9]$/.test(key)) {
        const button = current()?.querySelector(`.labels button[data-hotkey="${key}"]`);
        if (button) button.click();
        else return;
      } else if (key === "a") acceptSuggestions(current());
      else if (key === "g") toggleGoal();
      else if (key === "u") toggleUnsure(current());
      else if (key === "e") editNote(current());
      else if (key === "r") toggleReference();
      else if (key === "i") toggleGuidelines();
      else if (key === "Enter") document.getElementById("submit-button").click();
      else if (key === "n") document.getElementById("next-button").click();
      else if (key === "p") { const prev = document.getElementById("previous-link"); if (prev) leaveTo(prev.href); }
      else if (key === "?") help.open ? help.close() : help.showModal();
      else return;
      evt.preventDefault();
    });
  }
  document.addEventListener("DOMContentLoaded", setupAnnotate);

  // ---- active time -------------------------------------------------------
  // Time counts while the page is visible and the annotator did something in the
  // last minute; it is reported every 15 s and when the page is hidden or left.
  function setupActiveTime() {
    const page = document.getElementById("annotate");
    if (!page || !page.dataset.timeUrl) return;
    const IDLE_MS = 60000;
    let lastActivity = Date.now();
    let counted = 0; // ms not yet reported
    let tick = Date.now();
    const touch = () => { lastActivity = Date.now(); };
    ["keydown", "pointerdown", "pointermove", "scroll", "input"].forEach((name) =>
      document.addEventListener(name, touch, { passive: true, capture: true }));
    function account() {
      const now = Date.now();
      if (document.visibilityState === "visible" && now - lastActivity < IDLE_MS) counted += now - tick;
      tick = now;
    }
    function report(useBeacon) {
      account();
      const seconds = Math.min(counted / 1000, 120);
      if (seconds < 1) return;
      counted = 0;
      const body = new URLSearchParams({ seconds: seconds.toFixed(1), csrf_token: csrf() });
      if (useBeacon && navigator.sendBeacon) navigator.sendBeacon(page.dataset.timeUrl, body);
      else fetch(page.dataset.timeUrl, { method: "POST", body, headers: { "X-CSRF-Token": csrf() } });
    }
    setInterval(account, 1000);
    setInterval(() => report(false), 15000);
    document.addEventListener("visibilitychange", () => { if (document.visibilityState === "hidden") report(true); });
    window.addEventListener("pagehide", () => report(true));
  }
  document.addEventListener("DOMContentLoaded", setupActiveTime);

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
      download("", `${exporting.dataset.exportSelection}?${params}`);  // "": the server names the file
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
