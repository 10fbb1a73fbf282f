// vpcflow report: draw the charts from the embedded JSON, and make the copy buttons copy.
(function () {
  "use strict";
  function drawCharts() {
    var holder = document.getElementById("vpcflow-charts");
    var items = holder ? JSON.parse(holder.textContent) : {};
    var pending = [];
    Object.keys(items).forEach(function (id) {
      var target = document.getElementById(id);
      if (!target) { return; }
      pending.push(Promise.resolve(Bokeh.embed.embed_item(items[id], id)).then(function () {
        target.setAttribute("data-drawn", "yes");
      }));
    });
    Promise.all(pending).then(function () {
      document.body.setAttribute("data-charts", "drawn");
    }, function (err) {
      document.body.setAttribute("data-charts", "failed");
      console.error("vpcflow report: a chart failed to draw: " + err);
    });
  }
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    var area = document.createElement("textarea");
    area.value = text;
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } finally { document.body.removeChild(area); }
    return Promise.resolve();
  }
  function wireCopyButtons() {
    document.querySelectorAll("button.copy").forEach(function (button) {
      button.addEventListener("click", function () {
        var target = document.getElementById(button.getAttribute("data-target"));
        if (!target) { return; }
        copyText(target.textContent).then(function () {
          button.textContent = "Copied";
          setTimeout(function () { button.textContent = "Copy"; }, 1500);
        }, function () {
          button.textContent = "Select and copy";
        });
      });
    });
  }
  function start() {
    wireCopyButtons();
    drawCharts();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
