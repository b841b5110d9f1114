// Derivation Lab front end: CSRF header for htmx, KaTeX rendering, annotation keys, charts.
(function () {
  "use strict";

  const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

  // Every htmx request carries the session's CSRF token.
  document.addEventListener("htmx:config:request", (evt) => {
    evt.detail.ctx.request.headers["X-CSRF-Token"] = csrf();
  });

  // ---- math --------------------------------------------------------------
  // KaTeX with trust off; what it cannot render stays as raw text, still taggable.
  function renderMath(root) {
    if (!window.katex) return;
    root.querySelectorAll(".math[data-latex]:not([data-rendered])").forEach((el) => {
      const latex = el.dataset.latex;
      try {
        katex.render(latex, el, { throwOnError: true, trust: false, strict: "ignore", displayMode: false });
        el.dataset.rendered = "katex";
      } catch (err) {
        el.textContent = el.dataset.raw ?? latex;
        el.dataset.rendered = "raw";
        el.classList.add("unrendered");
        el.title = "KaTeX could not render this step; its raw LaTeX is shown. " + (err.message || "");
      }
    });
  }

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

  function enhance(root) {
    renderMath(root);
    renderChart(root);
  }

  document.addEventListener("DOMContentLoaded", () => enhance(document));
  document.addEventListener("htmx:after:swap", () => enhance(document));

  // Dismissable flash messages.
  document.addEventListener("click", (evt) => {
    if (evt.target.matches(".flash .dismiss")) evt.target.closest(".flash").remove();
  });
  document.addEventListener("htmx:before:request", () => {
    const flash = document.getElementById("flash");
    if (flash) flash.innerHTML = "";
  });

  // ---- annotation keys ---------------------------------------------------
  function setupAnnotate() {
    const page = document.getElementById("annotate");
    if (!page) return;
    const steps = () => Array.from(page.querySelectorAll(".step"));
    const judgement = document.getElementById("judgement");
    const help = document.getElementById("help");
    const reference = document.getElementById("reference");
    const refButton = document.getElementById("toggle-reference");

    // Plain form submission would leave the page; htmx saves the fields instead.
    judgement.addEventListener("submit", (evt) => evt.preventDefault());

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

    // Suggestions never overwrite: accepting only turns on labels that are off.
    function acceptSuggestions(step) {
      if (!step) return;
      step.querySelectorAll(".suggestion[data-label]").forEach((s) => {
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

    document.addEventListener("keydown", (evt) => {
      if (evt.ctrlKey || evt.metaKey || evt.altKey) return;
      const typing = evt.target.closest("input[type=text], input:not([type]), textarea, select");
      if (typing) {
        if (evt.key === "Escape") evt.target.blur();
        return;
      }
      if (help.open && evt.key !== "?") return;
      const key = evt.key;
      if (key === "j") move(1);
      else if (key === "k") move(-1);
      else if (/^[1-9]$/.test(key)) {
        const button = current()?.querySelector(`.labels button[data-hotkey="${key}"]`);
        if (button) button.click();
        else return;
      } else if (key === "a") acceptSuggestions(current());
      else if (key === "g") toggleGoal();
      else if (key === "r") toggleReference();
      else if (key === "Enter") document.getElementById("submit-button").click();
      else if (key === "n") window.location.href = page.dataset.nextUrl;
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
})();
