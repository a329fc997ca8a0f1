// Small behaviours without inline scripts (the Content-Security-Policy forbids them).
document.querySelectorAll(".js-autosubmit").forEach((el) => {
  el.addEventListener("change", () => el.form.submit());
});
document.querySelectorAll("[data-confirm]").forEach((el) => {
  el.addEventListener("submit", (event) => {
    if (!window.confirm(el.dataset.confirm)) event.preventDefault();
  });
});
