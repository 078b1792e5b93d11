// Nothing on these pages needs script; this file only adds conveniences.
// Confirm destructive buttons.
document.addEventListener("submit", function (e) {
  var b = e.submitter;
  if (b && b.classList.contains("danger") && !window.confirm("Really " + b.textContent.trim().toLowerCase() + "?")) {
    e.preventDefault();
  }
});
