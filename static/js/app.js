// Small behaviours without inline scripts (the Content-Security-Policy forbids them).
document.querySelectorAll(".js-autosubmit").forEach((el) => {
  el.addEventListener("change", () => el.form.submit());
});

// Confirmation of irreversible or mass actions. A form, or the submit button that sends it,
// carries data-confirm="what will happen"; submitting first opens an accessible Bootstrap modal
// (labelled by its title, described by the message, focus kept inside, Esc or Cancel cancels).
// The same sentence is printed next to the button by the page, so without JavaScript the
// reader still sees it, and the most dangerous actions are checked again by the server.
(() => {
  const texts = document.body.dataset;
  let modal = null;
  let onConfirm = null;

  function build() {
    const root = document.createElement("div");
    root.className = "modal fade";
    root.id = "confirm-modal";
    root.tabIndex = -1;
    root.setAttribute("role", "alertdialog");
    root.setAttribute("aria-modal", "true");
    root.setAttribute("aria-labelledby", "confirm-modal-title");
    root.setAttribute("aria-describedby", "confirm-modal-message");
    root.innerHTML =
      '<div class="modal-dialog modal-dialog-centered"><div class="modal-content">' +
      '<div class="modal-header"><h2 class="modal-title h5" id="confirm-modal-title"></h2>' +
      '<button type="button" class="btn-close" data-bs-dismiss="modal"></button></div>' +
      '<div class="modal-body"><p id="confirm-modal-message" class="mb-0"></p></div>' +
      '<div class="modal-footer"><button type="button" class="btn btn-outline-secondary" ' +
      'data-bs-dismiss="modal" data-role="cancel"></button>' +
      '<button type="button" class="btn btn-danger" data-role="ok"></button></div>' +
      "</div></div>";
    root.querySelector("#confirm-modal-title").textContent = texts.confirmTitle || "Confirm";
    root.querySelector(".btn-close").setAttribute("aria-label", texts.confirmCancel || "Cancel");
    root.querySelector("[data-role=cancel]").textContent = texts.confirmCancel || "Cancel";
    root.querySelector("[data-role=ok]").textContent = texts.confirmOk || "Confirm";
    root.querySelector("[data-role=ok]").addEventListener("click", () => {
      const action = onConfirm;
      onConfirm = null;
      modal.hide();
      if (action) action();
    });
    // Cancel is the safe default: focus it when the dialog opens. Bootstrap sets role="dialog"
    // as it shows a modal; a question that needs an answer is an alertdialog.
    root.addEventListener("shown.bs.modal", () => {
      root.setAttribute("role", "alertdialog");
      root.querySelector("[data-role=cancel]").focus();
    });
    document.body.appendChild(root);
    return new window.bootstrap.Modal(root, { backdrop: "static", keyboard: true });
  }

  function ask(message, okLabel, action) {
    if (!window.bootstrap || !window.bootstrap.Modal) {
      if (window.confirm(message)) action();
      return;
    }
    modal = modal || build();
    const root = document.getElementById("confirm-modal");
    root.querySelector("#confirm-modal-message").textContent = message;
    root.querySelector("[data-role=ok]").textContent = okLabel || texts.confirmOk || "Confirm";
    onConfirm = action;
    modal.show();
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    const button = event.submitter;
    const message = (button && button.dataset.confirm) || form.dataset.confirm;
    if (!message) return;
    if (form.dataset.confirmed === "1") {
      delete form.dataset.confirmed;
      return;
    }
    event.preventDefault();
    const okLabel = button ? button.textContent.trim() : "";
    ask(message, okLabel, () => {
      form.dataset.confirmed = "1";
      if (form.requestSubmit) form.requestSubmit(button || undefined);
      else form.submit();
    });
  });
})();
