// "Copy link" beside a read-only field (the course complete page): shown only where the
// clipboard can be written; without it, or without JavaScript, the field can still be
// selected and copied by hand.
(function () {
  "use strict";
  function setUp(button) {
    var field = document.getElementById(button.dataset.copy);
    var status = document.querySelector('[data-copy-status="' + button.dataset.copy + '"]');
    if (!field || !navigator.clipboard || !window.isSecureContext) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(
        function () {
          if (status) status.textContent = "Link copied.";
        },
        function () {
          field.select();
          if (status) status.textContent = "Copy the selected link with your keyboard or menu.";
        }
      );
    });
  }
  document.querySelectorAll("[data-copy]").forEach(setUp);
})();
