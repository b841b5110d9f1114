// The import page: the upload's progress.
(function () {
  "use strict";
  const { csrf } = window.derivlab;

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
})();
