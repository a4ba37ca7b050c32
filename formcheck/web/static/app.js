// formcheck dashboard: rep rows seek the video; the job page polls its progress. No libraries.
document.addEventListener("DOMContentLoaded", () => {
  const video = document.getElementById("video");
  document.querySelectorAll(".rep-row").forEach((row) => {
    const go = () => {
      document.querySelectorAll(".rep-row.current").forEach((r) => r.classList.remove("current"));
      row.classList.add("current");
      if (!video) return;
      const t = parseFloat(row.dataset.start);
      if (!isNaN(t)) {
        video.currentTime = t;
        video.play().catch(() => {});
      }
    };
    row.addEventListener("click", go);
    row.addEventListener("keydown", (e) => { if (e.key === "Enter") go(); });
  });
  if (video && location.hash.startsWith("#rep-")) {
    const row = document.querySelector(location.hash);
    if (row) video.addEventListener("loadedmetadata", () => row.click(), { once: true });
  }
  const form = document.getElementById("upload-form");
  if (form) form.addEventListener("submit", () => {
    const bar = document.getElementById("upload-progress");
    bar.hidden = false; bar.removeAttribute("value");  // indeterminate while the file goes up
  });
  const back = document.getElementById("back");  // error page: back where the form was
  if (back && history.length > 1) back.addEventListener("click", (e) => { e.preventDefault(); history.back(); });
  const job = document.getElementById("job");
  if (job) {
    const bar = document.getElementById("job-progress");
    const status = document.getElementById("job-status");
    const message = document.getElementById("job-message");
    const poll = async () => {
      const r = await fetch(job.dataset.url, { cache: "no-store" });
      const j = await r.json();
      bar.value = j.fraction;
      status.textContent = j.status + (j.total_frames ? ` (${j.done_frames} of ${j.total_frames} frames)` : "");
      message.textContent = j.message;
      if (j.status === "done" && j.session_url) { location.href = j.session_url; return; }
      if (j.status === "failed") { message.classList.add("error"); return; }
      setTimeout(poll, 500);
    };
    poll();
  }
});
