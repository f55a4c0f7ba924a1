// Keyboard shortcuts of the field page: a accept, c correct (type, then Enter), s error in
// the report, k skip, n next field; Escape leaves a text box. The forms work without this.
"use strict";
document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const typing = event.target.matches("input, textarea, select");
  if (typing) {
    if (event.key === "Escape") event.target.blur();
    return;
  }
  const submit = (action) => document.getElementById(`form-${action}`)?.requestSubmit();
  switch (event.key) {
    case "a": submit("accept"); break;
    case "s": submit("source_error"); break;
    case "k": submit("skip"); break;
    case "c": document.getElementById("correct-value")?.focus(); break;
    case "n": document.getElementById("start")?.click(); break;
    default: return;
  }
  event.preventDefault();
});
