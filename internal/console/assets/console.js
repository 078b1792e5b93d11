// Nothing on these pages needs script; this file only adds conveniences.
// Confirm destructive buttons.
document.addEventListener("submit", function (e) {
  var b = e.submitter;
  if (b && b.classList.contains("danger") && !window.confirm("Really " + b.textContent.trim().toLowerCase() + "?")) {
    e.preventDefault();
  }
});

// Follow a running job: poll its status and update the progress bar; reload
// when it ends so the page shows the result. Without script the page
// refreshes itself (meta refresh in <noscript>).
(function () {
  var job = document.getElementById("job");
  if (!job || job.dataset.done === "true") return;
  var url = job.dataset.statusUrl;
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (s) {
        document.getElementById("job-progress").value = s.progress;
        document.getElementById("job-percent").textContent = s.progress + " %";
        document.getElementById("job-message").textContent = s.message;
        var badge = document.getElementById("job-status");
        badge.textContent = s.status;
        badge.className = "badge " + s.status;
        if (s.status === "complete" || s.status === "failed") { window.location.reload(); return; }
        setTimeout(poll, 700);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 300);
})();
