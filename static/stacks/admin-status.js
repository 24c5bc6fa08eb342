// The stack admin page: follow a background processing run until it finishes, then reload
// so the editor sees the result (the report, the first slice, or the error).
// The admin loads this in the page's head: wait for the panel to exist.
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var panel = document.querySelector(".stack-processing");
  if (!panel || panel.dataset.finished) return;
  var url = panel.dataset.statusUrl;
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (!state) return;
        if (state.finished) { window.location.reload(); return; }
        panel.querySelector(".stack-processing-label").textContent = state.label;
        var bar = panel.querySelector(".stack-processing-bar");
        if (bar && state.total) { bar.max = state.total; bar.value = state.done; bar.textContent = state.done + " of " + state.total; }
        var count = panel.querySelector(".stack-processing-count");
        if (count) count.textContent = state.done + " of " + state.total;
        window.setTimeout(poll, 2000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
});
