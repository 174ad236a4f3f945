// unleak app: follows a running task (protect, scan) by server-sent events. No inline script
// anywhere (the Content-Security-Policy forbids it); without JavaScript, the page's Reload link works.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var box = document.getElementById("job");
  if (!box || !window.EventSource) { return; }
  var bar = document.getElementById("bar");
  var count = document.getElementById("count");
  var state = document.getElementById("state");
  var lines = document.getElementById("lines");
  var source = new EventSource(box.getAttribute("data-events"));
  source.onmessage = function (event) {
    var s = JSON.parse(event.data);
    if (s.total) { bar.max = s.total; bar.value = s.done; count.textContent = s.done + " of " + s.total; }
    else { count.textContent = String(s.done); }
    lines.textContent = "";
    s.lines.forEach(function (line) {
      var li = document.createElement("li");
      li.textContent = line;  // text, never HTML
      lines.appendChild(li);
    });
    if (s.finished) {
      state.textContent = s.error ? "Stopped: " + s.error : s.summary;
      box.setAttribute("data-finished", s.error ? "error" : "done");
      if (s.total) { bar.value = s.total; } else { bar.max = 1; bar.value = 1; }
      source.close();
    }
  };
  source.onerror = function () { source.close(); };
});
