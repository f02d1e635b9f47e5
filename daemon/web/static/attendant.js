// The attendant view: a check waiting for the attendant's decision (the chip photo beside the
// live frame), health, staff calls and recent checks, refreshed every two seconds.
"use strict";
const token = new URLSearchParams(location.search).get("token");
const q = token ? "?token=" + encodeURIComponent(token) : "";
let shown = null; // the check whose images are on screen

function showReferral(p) {
  const box = document.getElementById("referral");
  if (!p) {
    box.hidden = true;
    if (shown) { document.getElementById("ref-chip").removeAttribute("src"); document.getElementById("ref-live").removeAttribute("src"); }
    shown = null;
    return;
  }
  box.hidden = false;
  const left = Math.max(0, Math.round((new Date(p.deadline) - Date.now()) / 1000));
  document.getElementById("ref-info").textContent = "Check " + p.check_id + " (" + p.flow + "): the face is neither clearly the same nor clearly another person" +
    " (distance " + p.distance.toFixed(3) + "; accepted at or below " + p.accept.toFixed(3) + ", refused above " + p.reject.toFixed(3) +
    "; " + p.frames.length + " frames). Refused automatically in " + left + " s.";
  document.getElementById("ref-candidates").textContent = p.candidates && p.candidates.length ? "Enrolled identities near this face: " + p.candidates.join(", ") : "";
  if (shown !== p.check_id) {
    shown = p.check_id;
    document.getElementById("ref-error").textContent = "";
    const base = "/api/referral/" + encodeURIComponent(p.check_id) + "/";
    const chip = document.getElementById("ref-chip");
    chip.parentElement.hidden = !p.chip;
    if (p.chip) chip.src = base + "chip" + q; else chip.removeAttribute("src");
    document.getElementById("ref-live").src = base + "live" + q;
  }
}

async function decide(decision) {
  if (!shown) return;
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = "Bearer " + token;
  const r = await fetch("/api/referral/" + encodeURIComponent(shown), { method: "POST", headers, body: JSON.stringify({ decision }) });
  document.getElementById("ref-error").textContent = r.ok ? "" : (await r.json().catch(() => ({}))).error || "refused";
  refresh();
}

function cell(text) { const td = document.createElement("td"); td.textContent = text; return td; }

function row(...cells) { const tr = document.createElement("tr"); cells.forEach((c) => tr.appendChild(cell(c))); return tr; }

async function refresh() {
  const r = await fetch("/api/attendant" + q);
  if (!r.ok) { document.getElementById("overall").textContent = "not authorised"; return; }
  const d = await r.json();
  document.getElementById("overall").textContent = d.healthy ? "all parts healthy" : "attention needed";
  document.getElementById("overall").className = d.healthy ? "ok" : "bad";
  showReferral(d.referral);
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

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("approve").addEventListener("click", () => decide("approve"));
  document.getElementById("deny").addEventListener("click", () => decide("deny"));
  refresh();
  setInterval(refresh, 2000);
});
