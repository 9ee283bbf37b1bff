// The top menu on a phone: folded behind the Menu button, opened and closed with a
// click, Enter or Space (it is a button), closed with Escape (focus back on the
// button). Loaded right after the header, before the page paints, so the menu never
// flashes open; without this script the menu is simply a visible list.
(() => {
  const button = document.querySelector(".menu-toggle");
  const menu = button && document.getElementById(button.getAttribute("aria-controls"));
  if (!menu) return;
  const topbar = button.closest(".topbar");
  topbar.classList.add("has-menu-toggle");
  button.hidden = false;
  const setOpen = (open) => {
    button.setAttribute("aria-expanded", String(open));
    topbar.classList.toggle("menu-open", open);
  };
  button.addEventListener("click", () => setOpen(button.getAttribute("aria-expanded") !== "true"));
  topbar.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || button.getAttribute("aria-expanded") !== "true") return;
    setOpen(false);
    button.focus();
  });
})();
