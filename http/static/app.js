/* Consulta: small progressive enhancement. Pages work without it.
   Where the reader's time zone differs from the practice's, add the reader's
   own time next to each <time datetime data-zone>. */
(function () {
  "use strict";
  // Staff work in the practice's zone: their pages show only its times.
  if (document.body.hasAttribute("data-staff")) { return; }
  var here;
  try { here = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!here) { return; }
  var lang = document.documentElement.lang || "fr";
  var label = lang === "fr" ? "chez vous" : "your time";
  var format = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit", timeZone: here });
  var day = new Intl.DateTimeFormat(lang, { weekday: "short", day: "numeric", timeZone: here });
  var dayThere = function (instant, zone) {
    return new Intl.DateTimeFormat(lang, { weekday: "short", day: "numeric", timeZone: zone }).format(instant);
  };
  document.querySelectorAll("time[datetime][data-zone]").forEach(function (node) {
    var zone = node.getAttribute("data-zone");
    if (!zone || zone === here) { return; }
    var instant = new Date(node.getAttribute("datetime"));
    if (isNaN(instant.getTime())) { return; }
    var text = format.format(instant);
    if (day.format(instant) !== dayThere(instant, zone)) { text = day.format(instant) + " " + text; }
    var extra = document.createElement("span");
    extra.className = "local-time";
    extra.textContent = text + " (" + label + ", " + here + ")";
    node.insertAdjacentElement("afterend", extra);
  });
})();
