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

// A select marked data-autosubmit sends its form as soon as another option is chosen
// (the dashboard's breakdown); the form keeps a button for browsers without scripts.
document.addEventListener("change", function (event) {
  var field = event.target;
  if (field.matches && field.matches("select[data-autosubmit]") && field.form) {
    field.form.submit();
  }
});
