// The shared core, loaded first on every page: the CSRF header for htmx, KaTeX rendering, flash messages, and what each page module asks to run after a swap (derivlab.enhancers).
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

  // Downloads a file (a chart's PNG, a table's CSV, an export) without leaving the page.
  function download(name, href) {
    const a = document.createElement("a");
    a.href = href; a.download = name; document.body.appendChild(a); a.click(); a.remove();
  }

  // What the page modules share; each adds what it draws after a swap to `enhancers`.
  const enhancers = [renderMath];
  window.derivlab = { csrf, renderMath, showRaw, download, enhancers };
  function enhance(root) { enhancers.forEach((fn) => fn(root)); }

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
})();
