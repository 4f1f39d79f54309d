// Escalada's support widget: a "Support" button that opens the support form in a panel.
// Put on your site or in your app:
//   <script src="https://support.example.com/static/desk/support-widget.js" defer></script>
// It reads its own address to find Escalada; nothing is loaded from anywhere else.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) { return; }
  var base = new URL(script.src).origin;
  var button = document.createElement("button");
  button.type = "button";
  button.textContent = script.getAttribute("data-label") || "Support";
  button.setAttribute("aria-expanded", "false");
  button.style.cssText = "position:fixed;right:16px;bottom:16px;z-index:2147483000;padding:10px 16px;border:0;border-radius:20px;background:#2b5876;color:#fff;font:600 14px system-ui,sans-serif;cursor:pointer";
  var frame = null;
  button.addEventListener("click", function () {
    if (frame) {
      frame.remove();
      frame = null;
      button.setAttribute("aria-expanded", "false");
      return;
    }
    frame = document.createElement("iframe");
    frame.src = base + "/support/new?embed=1";
    frame.title = "Contact support";
    frame.style.cssText = "position:fixed;right:16px;bottom:64px;z-index:2147483000;width:380px;max-width:calc(100vw - 32px);height:560px;max-height:calc(100vh - 96px);border:1px solid #ccc;border-radius:8px;background:#fff;box-shadow:0 8px 24px rgba(0,0,0,.2)";
    document.body.appendChild(frame);
    button.setAttribute("aria-expanded", "true");
  });
  document.body.appendChild(button);
})();
