// The kiosk screen: follows the check through server-sent events, shows the camera's live
// picture (mirrored, with an outline where the document or the face goes, an arrow and the
// progress of the head-turn challenge), the keypad when the chip needs its access key typed,
// and the result, and speaks a short prompt at each step. Nothing here is stored in the browser.
"use strict";
let lang = "en";
let current = { stage: "idle" };
let keypadMode = "mrz";
let focused = "doc";
let muted = false;
let askedKeypad = false; // the person chose to type instead of showing the document
let lastPrompt = null;
let audio = null;
let spokenStage = null;

// The spoken prompts: static/prompts/<lang>/<key>.ogg (make prompts).
const PROMPTS = ["show_document", "tap_card", "look_camera", "turn_left", "turn_right", "hold_still", "accepted", "refused", "see_attendant"];
// The access-key step's details while the camera looks for the document.
const cameraDetails = ["show_document", "mrz_hold_still", "mrz_read"];
const arrows = { move_turn_left: "←", move_turn_right: "→", move_look_up: "↑", move_look_down: "↓" };

const $ = (id) => document.getElementById(id);

function applyLabels() {
  document.documentElement.lang = lang === "zh" ? "zh-Hans" : "en";
  document.querySelectorAll("[data-t]").forEach((el) => { el.textContent = t(lang, el.dataset.t); });
  document.querySelectorAll("[data-t-alt]").forEach((el) => { el.alt = t(lang, el.dataset.tAlt); });
  $("lang").textContent = lang === "zh" ? "English" : "中文";
  $("mute").textContent = t(lang, muted ? "sound_off" : "sound_on");
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
  if (stage !== "access_key") askedKeypad = false;
  const ins = $("instruction");
  ins.dataset.stage = stage;
  const camStep = stage === "access_key" && cameraDetails.includes(e.detail) && !askedKeypad;
  ins.textContent = t(lang, camStep ? "stage_access_key_camera" : "stage_" + stage);
  $("detail").textContent = e.detail && !(camStep && e.detail === "show_document") ? t(lang, "detail_" + e.detail) : "";
  $("idle-help").hidden = stage !== "idle";
  renderLive(e, stage, camStep);
  speak(promptFor(e, stage));
  const step = stepOf[stage];
  let reached = step !== null && step !== undefined;
  document.querySelectorAll("#steps li").forEach((li) => {
    li.className = "";
    if (!reached) return;
    if (li.dataset.step === step) { li.className = "now"; reached = false; } else { li.className = "done"; }
  });
  const keypadWasHidden = $("keypad").hidden;
  $("keypad").hidden = stage !== "access_key" || camStep;
  if (keypadWasHidden && !$("keypad").hidden) $(focused).focus();
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

// renderLive shows the camera's picture during the document and face steps, and only then: the
// stream stops (and the kiosk stops encoding it) when the picture is hidden.
function renderLive(e, stage, camStep) {
  const show = camStep || stage === "face_capture";
  const img = $("live-img");
  $("live").hidden = !show;
  $("live").dataset.mode = camStep ? "document" : "face";
  if (show && !img.getAttribute("src")) {
    $("no-picture").hidden = true;
    img.hidden = false;
    img.src = "/api/live";
  } else if (!show && img.getAttribute("src")) {
    img.removeAttribute("src");
  }
  $("outline-doc").classList.toggle("on", camStep);
  $("outline-mrz").classList.toggle("on", camStep);
  $("outline-doc").classList.toggle("found", camStep && e.detail !== "show_document");
  $("outline-face").classList.toggle("on", stage === "face_capture");
  const arrow = $("arrow");
  arrow.hidden = stage !== "face_capture" || !arrows[e.detail];
  arrow.textContent = arrows[e.detail] || "";
  arrow.className = e.detail || "";
  const p = $("progress");
  const challenge = stage === "face_capture" && (typeof e.progress === "number" || (e.detail || "").startsWith("move_"));
  p.hidden = !challenge;
  if (challenge) {
    const v = e.detail === "move_done" ? 1 : Math.max(0, Math.min(1, e.progress || 0));
    p.value = v;
    p.setAttribute("aria-valuetext", Math.round(v * 100) + "%");
  }
  $("use-keypad").hidden = !camStep;
}

// promptFor names the spoken prompt for an event, or null for none.
function promptFor(e, stage) {
  const d = e.detail || "";
  if (stage === "access_key") {
    if (d === "show_document") return "show_document";
    if (d === "mrz_hold_still") return "hold_still";
    return null;
  }
  if (stage === "face_capture") {
    if (d === "move_turn_left") return "turn_left";
    if (d === "move_turn_right") return "turn_right";
    if (d === "blurred") return "hold_still";
    return "look_camera";
  }
  if (stage === "decision") return { accepted: "accepted", rejected: "refused", aborted: "see_attendant" }[e.outcome] || null;
  if (stage === "referred") return "see_attendant";
  if (stage === "idle") return lastPrompt === null ? null : "tap_card";
  return null;
}

// speak plays a prompt once when it differs from the last one (at a step change).
// Within a step, a prompt still playing is not cut off by the next one.
function speak(key, again) {
  if (key === lastPrompt && !again) return;
  const stage = current.stage || "idle";
  if (!again && audio && !audio.paused && !audio.ended && spokenStage === stage) return;
  spokenStage = stage;
  lastPrompt = key;
  document.body.dataset.prompt = key || "";
  if (!key || muted) return;
  if (audio) audio.pause();
  audio = new Audio("/static/prompts/" + lang + "/" + key + ".ogg");
  audio.play().catch(() => {}); // a browser that forbids autoplay stays silent
}

function setMuted(m) {
  muted = m;
  $("mute").setAttribute("aria-pressed", String(m));
  $("mute").textContent = t(lang, m ? "sound_off" : "sound_on");
  if (m && audio) audio.pause();
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
      b.tabIndex = -1; // a keyboard types into the fields; Tab need not walk 37 keys
      b.addEventListener("click", () => typeKey(ch));
      div.appendChild(b);
    }
    box.appendChild(div);
  });
  const last = box.lastChild;
  const back = document.createElement("button");
  back.type = "button"; back.textContent = "⌫"; back.dataset.key = "back"; back.tabIndex = -1;
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

// Keys outside the fields: L language, M sound, R repeat the prompt, S call staff.
function onKey(ev) {
  if (ev.target instanceof HTMLInputElement || ev.ctrlKey || ev.altKey || ev.metaKey) return;
  const k = ev.key.toLowerCase();
  if (k === "l") $("lang").click();
  else if (k === "m") $("mute").click();
  else if (k === "r") speak(lastPrompt, true);
  else if (k === "s") $("staff").click();
  else return;
  ev.preventDefault();
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
  $("mute").addEventListener("click", () => setMuted(!muted));
  $("use-keypad").addEventListener("click", () => { askedKeypad = true; render(current); });
  $("live-img").addEventListener("error", () => {
    if (!$("live-img").getAttribute("src")) return;
    $("live-img").hidden = true;
    $("no-picture").hidden = false;
  });
  document.querySelectorAll("#keypad input").forEach((el) => el.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") { ev.preventDefault(); submitKey(); }
  }));
  document.addEventListener("keydown", onKey);
  setMode("mrz");
  applyLabels();
  connect();
});
