// The review page: a correction's live KaTeX preview.
(function () {
  "use strict";

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
})();
