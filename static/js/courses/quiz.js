// Quiz answer sheet: a countdown (the server enforces the deadline; this only helps the learner)
// that submits the sheet when time is up, and a confirmation before submitting by hand.
(function () {
  const form = document.getElementById("quiz-form");
  if (!form) return;
  let auto = false;
  const button = form.querySelector("[data-confirm-submit]");
  form.addEventListener("submit", (event) => {
    if (!auto && button && !window.confirm(button.dataset.confirmSubmit)) event.preventDefault();
  });
  const timer = document.getElementById("quiz-timer");
  if (!timer) return;
  const clock = timer.querySelector(".js-clock");
  const end = Date.now() + parseInt(timer.dataset.remaining, 10) * 1000;
  const tick = () => {
    const left = Math.max(0, Math.round((end - Date.now()) / 1000));
    clock.textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
    if (left <= 60) timer.classList.add("text-danger");
    if (left === 0) {
      clearInterval(handle);
      auto = true;
      form.submit();
    }
  };
  const handle = setInterval(tick, 1000);
  tick();
})();
