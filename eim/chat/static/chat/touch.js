// Touch screens have no hover: a tap on a message (or a long press, which browsers report as
// a context menu) selects it and shows its toolbar; a tap elsewhere or on another message
// moves the selection. Works the same for every message, continued ones included.

const touch = window.matchMedia("(hover: none)");
const INTERACTIVE = "a, button, textarea, input, .message-actions, .editor";

export function selectOnTouch(list) {
  const select = (item) => {
    for (const other of document.querySelectorAll("li.message.selected")) {
      if (other !== item) other.classList.remove("selected");
    }
    item?.classList.add("selected");
  };
  list.addEventListener("click", (event) => {
    if (!touch.matches) return;
    const item = event.target.closest("li.message");
    if (!item || item.classList.contains("pending")) return select(null);
    if (event.target.closest(INTERACTIVE)) return;
    if (item.classList.contains("selected")) item.classList.remove("selected");
    else select(item);
  });
  list.addEventListener("contextmenu", (event) => {
    const item = event.target.closest("li.message");
    if (!touch.matches || !item || item.classList.contains("pending") || event.target.closest("a")) return;
    event.preventDefault();
    select(item);
  });
}

export function clearTouchSelection() {
  for (const item of document.querySelectorAll("li.message.selected")) item.classList.remove("selected");
}
