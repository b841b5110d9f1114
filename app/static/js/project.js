// The project page: the training export's file name.
(function () {
  "use strict";

  // ---- training export: the file's name is the chosen kind and format ------
  document.addEventListener("submit", (evt) => {
    const form = evt.target;
    if (form.id !== "training-export") return;
    form.action = form.dataset.action + form.elements.kind.value + "." + form.elements.fmt.value;
  });
})();
