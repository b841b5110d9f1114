// The annotate page: label keys, queued changes, unsaved work, active time.
(function () {
  "use strict";
  const { csrf, renderMath } = window.derivlab;

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
})();
