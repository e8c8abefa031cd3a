// Socialkøb: start the design system's behaviour (menus, accordions, tabs). No inline script anywhere.
document.addEventListener("DOMContentLoaded", function () {
  if (window.DKFDS && typeof window.DKFDS.init === "function") {
    window.DKFDS.init();
  }
});
