// Socialkøb: the portfolio report (PDF) takes a few seconds to make. A link with
// data-report-progress="<id of a live region>" then fetches the file itself, shows that the report
// is being made with the seconds gone by, and hands the file to the browser as a download; on
// failure it shows the error text. The region (aria-live="polite", always on the page) holds a
// [data-report-message] that screen readers announce and an aria-hidden [data-report-clock], so
// that the seconds ticking by are seen but not read out every second. Every text comes from the link's data attributes, translated by
// the server. Without JavaScript (or fetch) the link simply opens the PDF.
(function () {
  "use strict";

  var SECOND = 1000;

  function fileName(response, fallback) {
    var header = response.headers.get("Content-Disposition") || "";
    var match = /filename="?([^";]+)"?/i.exec(header);
    return match ? match[1] : fallback;
  }

  function saveBlob(blob, name) {
    var url = window.URL.createObjectURL(blob);
    var anchor = document.createElement("a");
    anchor.href = url;
    anchor.download = name;
    anchor.hidden = true;
    document.body.appendChild(anchor);
    anchor.click();
    document.body.removeChild(anchor);
    // Give the browser time to start the download before the object URL goes.
    window.setTimeout(function () { window.URL.revokeObjectURL(url); }, 60 * SECOND);
  }

  function makeReport(link, region) {
    if (link.getAttribute("aria-busy") === "true") {
      return;                                   // one report at a time from this link
    }
    var message = region.querySelector("[data-report-message]");
    var clock = region.querySelector("[data-report-clock]");
    var secondsText = link.getAttribute("data-seconds-text") || "{s} s";
    var started = Date.now();
    var timer;

    function show(text, isError) {
      message.textContent = text;
      message.classList.toggle("form-error-message", Boolean(isError));   // the design system's error text
    }
    function tick() {
      clock.textContent = secondsText.replace("{s}", String(Math.floor((Date.now() - started) / SECOND)));
    }
    function finish() {
      window.clearInterval(timer);
      clock.textContent = "";
      link.removeAttribute("aria-busy");
    }

    link.setAttribute("aria-busy", "true");
    show(link.getAttribute("data-progress-text"), false);
    tick();
    timer = window.setInterval(tick, SECOND);

    window.fetch(link.href, {credentials: "same-origin", headers: {Accept: "application/pdf"}})
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (!response.ok || type.indexOf("application/pdf") !== 0) {
          throw new Error("HTTP " + response.status);
        }
        return response.blob().then(function (blob) {
          saveBlob(blob, fileName(response, "portefolje.pdf"));
        });
      })
      .then(function () {
        finish();
        show(link.getAttribute("data-done-text"), false);
      })
      .catch(function () {
        finish();
        show(link.getAttribute("data-error-text"), true);
      });
  }

  function enhance(link) {
    var region = document.getElementById(link.getAttribute("data-report-progress"));
    if (!region || !window.fetch || !window.URL || !window.URL.createObjectURL || !window.Blob) {
      return;                                   // the plain link still works
    }
    link.addEventListener("click", function (event) {
      // Ctrl/Cmd/Shift-click and middle-click keep their usual meaning (new tab, new window).
      if (event.defaultPrevented || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey ||
          event.altKey) {
        return;
      }
      event.preventDefault();
      makeReport(link, region);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("a[data-report-progress]"), enhance);
  });
})();
