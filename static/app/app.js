// Copy buttons: <button data-copy="#id"> or <button data-copy-text="...">.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy], [data-copy-text]");
  if (!button) return;
  const target = button.dataset.copy ? document.querySelector(button.dataset.copy) : null;
  const text = button.dataset.copyText || (target && (target.value || target.textContent)) || "";
  const done = () => { const old = button.textContent; button.textContent = "Copied"; setTimeout(() => (button.textContent = old), 1200); };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text.trim()).then(done);
  } else if (target && target.select) {
    target.select(); document.execCommand("copy"); done();
  }
});

// Charts: <canvas data-chart='{"type": "line", "data": {...}}'>.
function drawCharts(root) {
  if (!window.Chart) return;
  root.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
    if (canvas._chart) canvas._chart.destroy();
    const config = JSON.parse(canvas.dataset.chart);
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options || {});
    canvas._chart = new Chart(canvas, config);
  });
}
window.addEventListener("load", () => drawCharts(document));
document.addEventListener("htmx:afterSwap", (e) => drawCharts(e.target));

// Connection form: <select data-kind-switch data-settlement-days='{"impact": 1}'> shows only the
// [data-kind] fieldsets of the chosen network and fills in its usual pay day until one is typed.
function showKindFields(select) {
  const form = select.form;
  form.querySelectorAll("[data-kind]").forEach((el) => { el.hidden = el.dataset.kind !== select.value; });
  const day = form.querySelector("input[name=settlement_day]");
  const usual = JSON.parse(select.dataset.settlementDays || "{}")[select.value];
  if (day && usual && (day.value === "" || day.dataset.auto)) { day.value = usual; day.dataset.auto = "1"; }
}
document.addEventListener("change", (e) => { if (e.target.matches("select[data-kind-switch]")) showKindFields(e.target); });
document.addEventListener("input", (e) => { if (e.target.name === "settlement_day") delete e.target.dataset.auto; });
window.addEventListener("load", () => document.querySelectorAll("select[data-kind-switch]").forEach(showKindFields));

// The page's behaviour lives here, never inline: the Content-Security-Policy runs no inline
// script or handler. Elements opt in with data- attributes.

// Report filters: picking a date switches the range to "Custom" (<input data-custom-range>).
document.addEventListener("change", (event) => {
  const input = event.target.closest("[data-custom-range]");
  const preset = input && input.form && input.form.querySelector("select[name=preset]");
  if (preset) preset.value = "custom";
});

// <select data-autosubmit>: choosing an option submits its form.
document.addEventListener("change", (event) => {
  const select = event.target.closest("[data-autosubmit]");
  if (select && select.form) select.form.submit();
});

// <form data-submit-once>: its submit buttons are disabled once it is sent, so a double click sends it once.
document.addEventListener("submit", (event) => {
  if (event.defaultPrevented || !event.target.matches("form[data-submit-once]")) return;
  event.target.querySelectorAll("button:not([type]), button[type=submit]").forEach((button) => (button.disabled = true));
});

// The navigation's Menu button on phones: <button data-nav-toggle aria-controls="sidenav">.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-nav-toggle]");
  if (!button) return;
  const open = document.body.classList.toggle("nav-open");
  button.setAttribute("aria-expanded", open ? "true" : "false");
});

// <form data-confirm="Remove ...?">: a destructive action asks first (in the capture phase, before
// any other submit handler; a cancelled form is left as it was).
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) { event.preventDefault(); event.stopImmediatePropagation(); }
}, true);

// Make a Payment: <input data-select-all="members"> ticks every "members" box, and
// <p data-running-total="members" data-currency data-available> says what the ticked rows come to.
function updateRunningTotal(form, name) {
  const out = form.querySelector(`[data-running-total="${name}"]`);
  if (!out) return;
  const ticked = [...form.querySelectorAll(`input[name="${name}"]:checked`)];
  const cents = ticked.reduce((sum, box) => sum + Math.round(parseFloat(box.dataset.amount || "0") * 100), 0);
  const money = (c) => (c / 100).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const available = Math.round(parseFloat(out.dataset.available || "0") * 100);
  const over = cents > available ? ` · ${money(cents - available)} more than the available balance` : "";
  out.textContent = `${ticked.length} selected: ${money(cents)} ${out.dataset.currency}${over}`;
}
document.addEventListener("change", (event) => {
  const all = event.target.closest("[data-select-all]");
  if (all) {
    all.form.querySelectorAll(`input[name="${all.dataset.selectAll}"]`).forEach((box) => (box.checked = all.checked));
    updateRunningTotal(all.form, all.dataset.selectAll);
    return;
  }
  if (event.target.matches('input[type=checkbox][name]') && event.target.form) {
    updateRunningTotal(event.target.form, event.target.name);
  }
});

// Payout option: <div data-payout-switch> shows only the [data-payout-for] fields the chosen
// payout_type uses (flat, percent, both; none for the network's payout passed through).
function showPayoutFields(box) {
  const select = box.querySelector("select[name$=payout_type]");
  if (!select) return;
  box.querySelectorAll("[data-payout-for]").forEach((el) => {
    el.hidden = !el.dataset.payoutFor.split(" ").includes(select.value);
  });
}
document.addEventListener("change", (e) => {
  const box = e.target.closest("[data-payout-switch]");
  if (box && e.target.matches("select[name$=payout_type]")) showPayoutFields(box);
});
window.addEventListener("load", () => document.querySelectorAll("[data-payout-switch]").forEach(showPayoutFields));

// A table wider than the screen scrolls in its own box: keyboard users can focus it to scroll.
function markScrollableTables() {
  document.querySelectorAll(".content table, .portal-main table").forEach((table) => {
    if (table.scrollWidth > table.clientWidth + 1) {
      table.setAttribute("tabindex", "0");
      if (!table.hasAttribute("aria-label")) table.setAttribute("aria-label", "Table (scrolls sideways)");
    } else if (table.getAttribute("tabindex") === "0") {
      table.removeAttribute("tabindex");
    }
  });
}
window.addEventListener("load", markScrollableTables);
window.addEventListener("resize", markScrollableTables);
document.addEventListener("htmx:afterSwap", markScrollableTables);
