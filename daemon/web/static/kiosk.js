// The kiosk screen: follows the check through server-sent events, shows the keypad when the chip
// needs its access key, and the result. Nothing here is stored in the browser.
"use strict";
let lang = "en";
let current = { stage: "idle" };
let keypadMode = "mrz";
let focused = "doc";

const $ = (id) => document.getElementById(id);

function applyLabels() {
  document.documentElement.lang = lang === "zh" ? "zh-Hans" : "en";
  document.querySelectorAll("[data-t]").forEach((el) => { el.textContent = t(lang, el.dataset.t); });
  $("lang").textContent = lang === "zh" ? "English" : "中文";
  render(current);
}

const stepOf = {
  idle: null, document_presented: "document", access_key: "document", reading_chip: "chip",
  revocation_check: "chip", face_capture: "face", matching: "face", referred: "face", decision: "result", remove_card: "result",
};

let lastDecision = null;

function render(e) {
  current = e;
  const stage = e.stage || "idle";
  if (stage === "decision") lastDecision = e;
  if (stage === "idle") lastDecision = null;
  const ins = $("instruction");
  ins.dataset.stage = stage;
  ins.textContent = t(lang, "stage_" + stage);
  $("detail").textContent = e.detail ? t(lang, "detail_" + e.detail) : "";
  const step = stepOf[stage];
  let reached = step !== null && step !== undefined;
  document.querySelectorAll("#steps li").forEach((li) => {
    li.className = "";
    if (!reached) return;
    if (li.dataset.step === step) { li.className = "now"; reached = false; } else { li.className = "done"; }
  });
  $("keypad").hidden = stage !== "access_key";
  const d = lastDecision;
  $("result").hidden = !d;
  if (d) {
    const v = $("verdict");
    v.className = d.outcome;
    v.textContent = t(lang, "outcome_" + d.outcome);
    if (stage === "decision") ins.textContent = "";
    const ul = $("reasons");
    ul.replaceChildren(...(d.reasons || []).map((r) => {
      const li = document.createElement("li");
      li.textContent = t(lang, "reason_" + r);
      return li;
    }));
  }
}

function connect() {
  const es = new EventSource("/api/events");
  es.onmessage = (m) => { $("conn").textContent = ""; render(JSON.parse(m.data)); };
  es.onerror = () => { $("conn").textContent = t(lang, "disconnected"); };
}

function buildKeys() {
  const rows = ["1234567890", "ABCDEFGHIJ", "KLMNOPQRST", "UVWXYZ<"];
  const box = $("keys");
  rows.forEach((row) => {
    const div = document.createElement("div");
    for (const ch of row) {
      const b = document.createElement("button");
      b.type = "button"; b.textContent = ch; b.dataset.key = ch;
      b.addEventListener("click", () => typeKey(ch));
      div.appendChild(b);
    }
    box.appendChild(div);
  });
  const last = box.lastChild;
  const back = document.createElement("button");
  back.type = "button"; back.textContent = "⌫"; back.dataset.key = "back";
  back.addEventListener("click", () => { const f = $(focused); f.value = f.value.slice(0, -1); });
  last.appendChild(back);
}

function typeKey(ch) {
  const f = $(focused);
  if (f.value.length < f.maxLength) f.value += ch;
  if (f.value.length === f.maxLength) {
    const order = keypadMode === "mrz" ? ["doc", "dob", "expiry"] : ["can"];
    const i = order.indexOf(focused);
    if (i >= 0 && i + 1 < order.length && focused !== "doc") focus(order[i + 1]);
  }
}

function focus(id) {
  focused = id;
  document.querySelectorAll("#keypad input").forEach((el) => el.classList.toggle("focused", el.id === id));
}

function setMode(mode) {
  keypadMode = mode;
  $("tab-mrz").classList.toggle("active", mode === "mrz");
  $("tab-can").classList.toggle("active", mode === "can");
  $("form-mrz").hidden = mode !== "mrz";
  $("form-can").hidden = mode !== "can";
  focus(mode === "mrz" ? "doc" : "can");
}

async function submitKey() {
  const body = keypadMode === "can"
    ? { can: $("can").value }
    : { document_number: $("doc").value.toUpperCase(), date_of_birth: $("dob").value, date_of_expiry: $("expiry").value };
  const r = await fetch("/api/key", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  if (r.ok) {
    $("key-error").textContent = "";
    document.querySelectorAll("#keypad input").forEach((el) => { el.value = ""; });
  } else {
    $("key-error").textContent = t(lang, "key_invalid");
  }
}

document.addEventListener("DOMContentLoaded", () => {
  buildKeys();
  document.querySelectorAll("#keypad input").forEach((el) => el.addEventListener("focus", () => focus(el.id)));
  $("tab-mrz").addEventListener("click", () => setMode("mrz"));
  $("tab-can").addEventListener("click", () => setMode("can"));
  $("submit").addEventListener("click", submitKey);
  $("lang").addEventListener("click", () => { lang = lang === "en" ? "zh" : "en"; applyLabels(); });
  $("staff").addEventListener("click", async () => {
    await fetch("/api/staff", { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
    $("detail").textContent = t(lang, "staff_called");
  });
  setMode("mrz");
  applyLabels();
  connect();
});
