// The attendant view: health, staff calls and recent checks, refreshed every two seconds.
"use strict";
const token = new URLSearchParams(location.search).get("token");

function cell(text) { const td = document.createElement("td"); td.textContent = text; return td; }

function row(...cells) { const tr = document.createElement("tr"); cells.forEach((c) => tr.appendChild(cell(c))); return tr; }

async function refresh() {
  const r = await fetch("/api/attendant" + (token ? "?token=" + encodeURIComponent(token) : ""));
  if (!r.ok) { document.getElementById("overall").textContent = "not authorised"; return; }
  const d = await r.json();
  document.getElementById("overall").textContent = d.healthy ? "all parts healthy" : "attention needed";
  document.getElementById("overall").className = d.healthy ? "ok" : "bad";
  document.querySelector("#health tbody").replaceChildren(...d.health.map((c) =>
    row(c.name, c.ok ? "ok" : "DOWN", new Date(c.since).toLocaleTimeString(), c.detail || "")));
  document.getElementById("calls").replaceChildren(...d.staff_calls.slice().reverse().map((c) => {
    const li = document.createElement("li");
    li.textContent = new Date(c.time).toLocaleTimeString() + " during " + c.stage;
    return li;
  }));
  document.querySelector("#decisions tbody").replaceChildren(...d.decisions.slice().reverse().map((e) =>
    row(new Date(e.time).toLocaleTimeString(), e.check_id, e.flow, e.outcome, (e.reasons || []).join(", "),
      e.distance ? e.distance.toFixed(3) : "")));
}

document.addEventListener("DOMContentLoaded", () => { refresh(); setInterval(refresh, 2000); });
