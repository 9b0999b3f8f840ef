// The console's little JavaScript: confirmation dialogs before destructive changes, the "/"
// shortcut to the page's search box, j/k through table rows, and the provider form's kind.
// Every page works without it: a destructive form then shows a confirmation page first.

const dialog = document.getElementById("confirm-dialog");

function confirmFirst(form) {
  if (!dialog || typeof dialog.showModal !== "function") return;
  form.addEventListener("submit", (event) => {
    if (form.dataset.confirmed === "yes") return;
    event.preventDefault();
    document.getElementById("confirm-text").textContent = form.dataset.confirm;
    const go = document.getElementById("confirm-go");
    const submitter = form.querySelector("button[type=submit]");
    go.textContent = submitter ? submitter.textContent.trim() : "Confirm";
    dialog.returnValue = "";
    dialog.addEventListener(
      "close",
      () => {
        if (dialog.returnValue !== "confirm") {
          if (submitter) submitter.focus();
          return;
        }
        const yes = document.createElement("input");
        yes.type = "hidden";
        yes.name = "confirm";
        yes.value = "yes";
        form.append(yes);
        form.dataset.confirmed = "yes";
        form.submit();
      },
      { once: true },
    );
    dialog.showModal();
    go.focus();
  });
}

document.querySelectorAll("form[data-confirm]").forEach(confirmFirst);

function typing(target) {
  return target.closest("input, textarea, select, [contenteditable]") !== null;
}

const rows = () => [...document.querySelectorAll(".data-table tbody tr")];
let current = -1;

function moveTo(index) {
  const all = rows();
  if (!all.length) return;
  current = Math.max(0, Math.min(all.length - 1, index));
  all.forEach((row, i) => row.classList.toggle("is-current", i === current));
  const link = all[current].querySelector("a");
  if (link) link.focus();
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
  if (event.key === "/") {
    const box = document.querySelector("[data-shortcut='/']");
    if (box) {
      event.preventDefault();
      box.focus();
      box.select();
    }
  } else if (event.key === "j") {
    moveTo(current + 1);
  } else if (event.key === "k") {
    moveTo(current - 1);
  }
});

const kind = document.getElementById("provider-kind");
if (kind) {
  const show = () =>
    document.querySelectorAll(".kind-fields").forEach((set) => {
      set.hidden = set.dataset.kind !== kind.value;
    });
  kind.addEventListener("change", show);
  show();
}

// A segment picker: typing in its search box narrows the group list below it; ArrowDown or
// Enter moves to the list (Enter never submits the form from the search box).
document.querySelectorAll("input[data-filters]").forEach((box) => {
  const list = document.getElementById(box.dataset.filters);
  const none = document.getElementById(`${box.dataset.filters}-none`);
  if (!list) return;
  box.addEventListener("input", () => {
    const wanted = box.value.trim().toLowerCase();
    let shown = 0;
    for (const option of list.options) {
      option.hidden = wanted !== "" && !option.text.toLowerCase().includes(wanted);
      if (!option.hidden) shown += 1;
    }
    if (none) none.hidden = shown > 0;
    const selected = list.selectedOptions[0];
    if (shown && (!selected || selected.hidden)) {
      list.value = [...list.options].find((option) => !option.hidden).value;
    }
  });
  box.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "Enter") {
      event.preventDefault();
      list.focus();
    }
  });
});
