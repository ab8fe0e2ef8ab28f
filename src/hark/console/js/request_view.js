// A "Show request" box: tabs over snippets (one per client), a copy button, the code.

export class RequestView {
  /** `details` holds [data-snippet] tabs, a .copy button and a <pre><code>. */
  constructor(details) {
    this.details = details;
    this.shown = {};
    this.tabs = [...details.querySelectorAll("[data-snippet]")];
    this.code = details.querySelector("pre code");
    for (const tab of this.tabs) tab.addEventListener("click", () => this.select(tab.dataset.snippet));
    details.querySelector(".copy").addEventListener("click", () => navigator.clipboard?.writeText(this.code.textContent));
  }

  /** Show `snippets` ({tab key: code}), keeping the tab the person chose. */
  show(snippets) {
    this.shown = snippets;
    this.details.hidden = false;
    const selected = this.tabs.find((tab) => tab.getAttribute("aria-selected") === "true");
    this.select(selected ? selected.dataset.snippet : this.tabs[0].dataset.snippet);
  }

  select(which) {
    for (const tab of this.tabs) tab.setAttribute("aria-selected", String(tab.dataset.snippet === which));
    this.code.textContent = this.shown[which] || "";
  }
}
