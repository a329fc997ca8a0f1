// Live progress of background jobs: every .job-progress polls its job's JSON until it ends.
(function () {
  const INTERVAL_MS = 700;
  function watch(box) {
    const bar = box.querySelector(".progress-bar");
    const meter = box.querySelector(".progress");
    const stage = box.querySelector(".job-stage");
    const count = box.querySelector(".job-count");
    const message = box.querySelector(".job-message");
    async function poll() {
      let job;
      try {
        const response = await fetch(box.dataset.jobUrl, { headers: { Accept: "application/json" } });
        if (!response.ok) throw new Error(String(response.status));
        job = await response.json();
      } catch (err) {
        setTimeout(poll, INTERVAL_MS * 4);
        return;
      }
      const percent = job.percent === null ? 5 : job.percent;
      bar.style.width = percent + "%";
      meter.setAttribute("aria-valuenow", String(percent));
      if (stage && job.stage) stage.textContent = job.stage;
      if (count && job.total) count.textContent = job.done + " / " + job.total;
      if (job.status === "queued" || job.status === "running") {
        setTimeout(poll, INTERVAL_MS);
        return;
      }
      bar.classList.remove("progress-bar-animated", "progress-bar-striped");
      if (job.status === "done") {
        bar.classList.add("bg-success");
        message.textContent = box.dataset.doneText;
        const target = box.dataset.doneUrl;
        window.location.assign(target || window.location.href);
      } else {
        bar.classList.add(job.status === "failed" ? "bg-danger" : "bg-secondary");
        message.textContent = job.status === "failed" ? box.dataset.failedText : box.dataset.cancelledText;
        if (box.dataset.endUrl) window.location.assign(box.dataset.endUrl);
      }
    }
    setTimeout(poll, INTERVAL_MS);
  }
  document.querySelectorAll(".job-progress[data-job-url]").forEach(watch);
})();
