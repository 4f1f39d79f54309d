/* SLA countdowns. Every 30 s, each element with data-due="<ISO instant>" gets its text rewritten
   as wall time relative to now: "in 2 h 10 min", "3 min ago" (the same words the server wrote).

   What this counts is honest for both kinds of clock:
   - calendar-time clocks: the wall time left IS the clock's time left;
   - business-time clocks: the business time left cannot be worked out here (the browser does
     not know the calendar's closings, holidays and zone rules), so the page keeps the server's
     figure as of loading ("due in 42 min of business time") and this only counts the wall time
     to the due instant, which the server computed with the calendar and which does not move
     while the clock runs (a pause or a calendar edit moves it; the page shows that on reload).
   No eval, no inline script, no network. */
(function () {
  "use strict";

  var PERIOD_MS = 30000;

  function span(seconds) {
    var minutes = Math.floor(seconds / 60);
    if (minutes < 1) { return "under 1 min"; }
    if (minutes < 60) { return minutes + " min"; }
    var hours = Math.floor(minutes / 60);
    minutes = minutes % 60;
    if (hours < 24) { return minutes ? hours + " h " + minutes + " min" : hours + " h"; }
    var days = Math.floor(hours / 24);
    hours = hours % 24;
    return hours ? days + " d " + hours + " h" : days + " d";
  }

  function relative(at, now) {
    var seconds = (at - now) / 1000;
    if (seconds >= 0) { return "in " + span(seconds); }
    return seconds > -60 ? "just now" : span(-seconds) + " ago";
  }

  function refresh() {
    var now = Date.now();
    var elements = document.querySelectorAll("[data-due]");
    for (var i = 0; i < elements.length; i++) {
      var at = Date.parse(elements[i].getAttribute("data-due"));
      if (!isNaN(at)) { elements[i].textContent = relative(at, now); }
    }
  }

  window.setInterval(refresh, PERIOD_MS);
})();
