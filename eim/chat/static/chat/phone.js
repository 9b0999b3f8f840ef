// The phone layout: under 760 px the sidebar slides over the conversation from the menu
// button; whichever side is hidden is inert, so focus cannot wander into it.

export const phone = window.matchMedia("(max-width: 760px)");

export class PhoneLayout {
  // nodes: app, sidebar, backdrop, menu, covered (what the open sidebar covers)
  constructor({ app, sidebar, backdrop, menu, covered }) {
    Object.assign(this, { app, sidebar, backdrop, menu, covered });
    menu.addEventListener("click", () => this.setSidebarOpen(!this.sidebarOpen));
    backdrop.addEventListener("click", () => this.setSidebarOpen(false));
    phone.addEventListener("change", () => this.applyInert());
    this.applyInert();
  }

  get sidebarOpen() {
    return this.app.classList.contains("sidebar-open");
  }

  setSidebarOpen(open) {
    this.app.classList.toggle("sidebar-open", open);
    this.menu.setAttribute("aria-expanded", String(open));
    this.backdrop.hidden = !open;
    this.applyInert();
    if (open) this.sidebar.querySelector('[aria-current="page"], a, button')?.focus();
  }

  closeSidebar() {
    if (phone.matches && this.sidebarOpen) this.setSidebarOpen(false);
  }

  applyInert() {
    const open = this.sidebarOpen;
    this.sidebar.inert = phone.matches && !open;
    for (const node of this.covered) node.inert = phone.matches && open;
  }
}
