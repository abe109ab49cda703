// The status page is readable without script, in UTC (or ?tz=). With script, each time shows in the reader's zone.
document.querySelectorAll("time[datetime]").forEach(function (el) {
  var when = new Date(el.getAttribute("datetime"));
  if (!isNaN(when)) { el.textContent = when.toLocaleString([], {dateStyle: "medium", timeStyle: "short"}); }
});
var zone = document.querySelector(".zone");
if (zone && window.Intl) { zone.textContent = Intl.DateTimeFormat().resolvedOptions().timeZone || zone.textContent; }
