// Project behaviour on top of Bootstrap. No inline scripts: the CSP allows 'self' only.
// A form marked data-busy-message shows that message with a spinner once submitted and
// disables its buttons, so a long import is not sent twice and the person sees it working.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var message = form.getAttribute("data-busy-message");
  if (!message || event.defaultPrevented) {
    return;
  }
  form.querySelectorAll("button[type=submit]").forEach(function (button) {
    button.disabled = true;
  });
  var status = form.querySelector("[data-busy-status]");
  if (status) {
    status.querySelector("[data-busy-text]").textContent = message;
    status.hidden = false;
  }
});
