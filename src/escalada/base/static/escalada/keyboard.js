/* Keyboard shortcuts for the support team (tinykeys, from npm; no inline code, no eval).
   j/k move · enter open · r reply · n internal note · e escalate · t transfer · a assign ·
   / search · g q queue · g b board · ? all shortcuts. Never while typing in a field. */
(function () {
  "use strict";
  if (!window.tinykeys || !window.tinykeys.tinykeys) { return; }

  function typing(event) {
    var t = event.target;
    return !!t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  }
  function guard(action) {
    return function (event) {
      if (typing(event)) { return; }
      event.preventDefault();
      action(event);
    };
  }
  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#queue tbody tr, #tickets tbody tr"));
  }
  var current = -1;
  function select(index) {
    var list = rows();
    if (!list.length) { return; }
    current = Math.max(0, Math.min(list.length - 1, index));
    list.forEach(function (row, n) {
      row.classList.toggle("kb-selected", n === current);
      row.setAttribute("aria-selected", n === current ? "true" : "false");
    });
    list[current].scrollIntoView({ block: "nearest" });
  }
  function openSelected(event) {
    var target = event.target;
    if (target && /^(A|BUTTON)$/.test(target.tagName)) { return; }  // Enter on a link or button is theirs
    var list = rows();
    var link = current >= 0 && list[current] ? list[current].querySelector("a[href]") : null;
    if (link) { event.preventDefault(); window.location.assign(link.href); }
  }
  function reply(internal) {
    var box = document.querySelector("#conversation textarea[name=body]");
    if (!box) { return; }
    var choice = document.querySelector("#conversation input[name=visibility][value=" + (internal ? "internal" : "public") + "]");
    if (choice) { choice.checked = true; }
    box.focus();
  }
  function openPanel(formAction) {
    var form = document.querySelector("#escalation-panel form[action$='" + formAction + "']");
    if (!form) { return; }
    var details = form.closest("details");
    if (details) { details.open = true; }
    var first = form.querySelector("select, textarea, input:not([type=hidden])");
    if (first) { first.focus(); }
  }
  function focusFirst(selector, fallback) {
    var field = document.querySelector(selector);
    if (field) { field.focus(); } else if (fallback) { window.location.assign(fallback); }
  }
  function help() {
    var dialog = document.getElementById("kb-help");
    if (!dialog || !dialog.showModal) { return; }
    if (dialog.open) { dialog.close(); } else { dialog.showModal(); }
  }

  window.tinykeys.tinykeys(window, {
    "j": guard(function () { select(current + 1); }),
    "k": guard(function () { select(current - 1); }),
    "Enter": function (event) { if (!typing(event)) { openSelected(event); } },
    "r": guard(function () { reply(false); }),
    "n": guard(function () { reply(true); }),
    "e": guard(function () { openPanel("/escalate/up"); }),
    "t": guard(function () { openPanel("/escalate/transfer"); }),
    "a": guard(function () { focusFirst("form[action$='/assign'] select[name=assignee]"); }),
    "/": guard(function () { focusFirst("input[name=q]", "/tickets/"); }),
    "g q": guard(function () { window.location.assign("/queue/"); }),
    "g b": guard(function () { window.location.assign("/escalations/"); }),
    "Shift+?": guard(help),
    "?": guard(help)
  });
})();
