// Quiz answer sheet: a countdown (the server enforces the deadline; this only helps the learner)
// that submits the sheet when time is up. Submitting by hand asks first through the shared
// confirmation dialog (data-confirm on the button, app.js); form.submit() here skips it.
// The countdown never moves focus; a polite live region announces 10, 5 and 1 minute left
// (the visible clock itself is not live: announcing every second would drown a screen reader).
(function () {
  const form = document.getElementById("quiz-form");
  if (!form) return;
  const timer = document.getElementById("quiz-timer");
  if (!timer) return;
  const clock = timer.querySelector(".js-clock");
  const announcer = document.getElementById("quiz-timer-announce");
  const end = Date.now() + parseInt(timer.dataset.remaining, 10) * 1000;
  const milestones = [10, 5, 1].filter((m) => m * 60 < parseInt(timer.dataset.remaining, 10));
  const announce = (minutes) => {
    if (!announcer) return;
    announcer.textContent =
      minutes === 1 ? timer.dataset.announceOne : timer.dataset.announce.replace("{n}", minutes);
  };
  const tick = () => {
    const left = Math.max(0, Math.round((end - Date.now()) / 1000));
    clock.textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
    if (left <= 60) timer.classList.add("text-danger");
    while (milestones.length && left <= milestones[0] * 60) announce(milestones.shift());
    if (left === 0) {
      clearInterval(handle);
      form.submit();
    }
  };
  const handle = setInterval(tick, 1000);
  tick();
})();
