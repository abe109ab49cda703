// The board's moves for the signed-in (drag, keyboard, card menu): served from /static, since the pages' CSP
// allows no inline script. The CSRF token comes from the page's <meta name="csrf-token">.
(() => {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const order = ["new", "triaged", "in_progress", "blocked", "resolved"];
  const flash = document.getElementById("flash"), announce = document.getElementById("announce");
  const say = (text, ok) => { flash.textContent = text; flash.className = "flash " + (ok ? "ok" : "error");
                             announce.textContent = text; };
  const label = key => document.querySelector(`[data-column="${key}"] h2 span`).textContent;
  const loaded = Array.from(crypto.getRandomValues(new Uint8Array(8)), b => b.toString(16).padStart(2, "0")).join("");
  let busy = false;
  async function act(card, action, value) {
    if (busy) return false;  // one change at a time; a double click is the same request (its key) anyway
    let note = "";
    if (action === "move" && value === "resolved") {
      note = window.prompt("How was it resolved? (one sentence, as in the resolve form)") || "";
      if (!note.trim()) { say("Not resolved: a resolution summary is needed.", false); return false; }
    }
    busy = true;
    const key = `${loaded}-${card.dataset.number}-${action}-${value}`.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 64);
    const response = await fetch("/board/act", {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify({incident: Number(card.dataset.number), action, value, note, key})})
      .finally(() => { busy = false; });
    const answer = await response.json().catch(() => ({error: "the server did not answer"}));
    if (!response.ok) { say(answer.error || "That did not work.", false); return false; }
    say(answer.message, true);
    return answer;
  }
  async function moveTo(card, key) {
    const from = card.closest(".column").dataset.column;
    if (key === from) return;
    const answer = await act(card, "move", key);
    if (answer) { window.location.reload(); }
  }
  let dragged = null;
  document.querySelectorAll(".card[draggable=true]").forEach(card => {
    card.addEventListener("dragstart", event => { dragged = card; event.dataTransfer.setData("text/plain", card.dataset.incident); });
    card.addEventListener("keydown", event => keyboard(card, event));
  });
  document.querySelectorAll(".column").forEach(column => {
    column.addEventListener("dragover", event => { event.preventDefault(); column.classList.add("drop"); });
    column.addEventListener("dragleave", () => column.classList.remove("drop"));
    column.addEventListener("drop", event => { event.preventDefault(); column.classList.remove("drop");
      if (dragged) { moveTo(dragged, column.dataset.column); dragged = null; } });
  });
  let grabbed = null, target = null;
  function keyboard(card, event) {
    if (event.target !== card) return;
    if (grabbed && card !== grabbed) { release(); }  // focus moved to another card: the one held is put back
    if (!grabbed && (event.key === " " || event.key === "Enter")) {
      event.preventDefault(); grabbed = card; target = card.closest(".column").dataset.column;
      card.classList.add("grabbed"); say(`Picked up ${card.dataset.incident} in ${label(target)}. ← → to choose a column, Space to drop.`, true);
      return;
    }
    if (!grabbed) return;
    if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
      event.preventDefault();
      const step = event.key === "ArrowRight" ? 1 : -1;
      target = order[Math.min(order.length - 1, Math.max(0, order.indexOf(target) + step))];
      document.querySelectorAll(".column").forEach(c => c.classList.toggle("drop", c.dataset.column === target));
      say(`${card.dataset.incident}: drop in ${label(target)}?`, true);
    } else if (event.key === " " || event.key === "Enter") {
      event.preventDefault(); const held = grabbed, key = target; release(); moveTo(held, key);
    } else if (event.key === "Escape") { release(); say("Move cancelled.", true); }
  }
  function release() {
    if (grabbed) grabbed.classList.remove("grabbed");
    document.querySelectorAll(".column").forEach(c => c.classList.remove("drop"));
    grabbed = null;
  }
  document.querySelectorAll(".card-menu button").forEach(button => button.addEventListener("click", async () => {
    const answer = await act(button.closest(".card"), button.dataset.action, button.dataset.value || "");
    if (answer) window.location.reload();
  }));
})();
