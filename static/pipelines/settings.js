// A pipeline's Settings page: rename and delete ask once more before they are sent
// (the form's data-confirm says what happens). Without script the typed id (delete)
// and the checkbox (rename) still guard them on the server.
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
});
