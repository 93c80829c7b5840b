// The feedback service's page: sign in (a token, or the Hub's login), send a notebook, read the
// answer and the history. Everything shown is set as text (textContent), never as HTML.
"use strict";

const body = document.body;
const BASE = body.dataset.base;
const MODE = body.dataset.mode; // "token": a roster token, kept in this tab only; "hub": the Hub's OAuth cookie
const XSRF = body.dataset.xsrf;
const PENDING = new Set(["queued", "running"]);
const $ = (id) => document.getElementById(id);

function token() { return sessionStorage.getItem("tdn-token"); }

async function api(path, options = {}) {
  const headers = Object.assign({}, options.headers || {});
  if (MODE === "token" && token()) headers["Authorization"] = "Bearer " + token();
  if (MODE === "hub" && XSRF) headers["X-XSRFToken"] = XSRF;
  const response = await fetch(BASE + path, Object.assign({}, options, { headers, credentials: "same-origin" }));
  if (response.status === 401) {
    signedOut(MODE === "token" && token() ? "That token was not accepted (mistyped, or revoked): ask your instructor." : "");
    throw new Error("not signed in");
  }
  let data = {};
  try { data = await response.json(); } catch (e) { data = { error: `the service answered ${response.status}` }; }
  return { status: response.status, data };
}

function signedOut(message) {
  if (MODE === "hub") { window.location.reload(); return; }
  sessionStorage.removeItem("tdn-token");
  $("main").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message || "";
}

function say(text, kind) {
  const status = $("status");
  status.textContent = text;
  status.className = kind || "";
}

function quotaText(a) {
  const base = `${a.used} of ${a.limit} requests used for ${a.id} in the last ${rateWindow}.`;
  return a.next_allowed_at ? `${base} Next one allowed at ${new Date(a.next_allowed_at).toLocaleTimeString()}.` : base;
}

let me = null;
let rateWindow = "hour";

async function loadMe() {
  const { data } = await api("api/me");
  me = data;
  rateWindow = data.rate.text.replace(/^\d+ per /, "");
  $("who").textContent = data.student;
  const select = $("assignment");
  const chosen = select.value;
  select.replaceChildren(...data.assignments.map((a) => {
    const option = document.createElement("option");
    option.value = a.id;
    option.textContent = `${a.id} (${a.max_score} points)`;
    return option;
  }));
  if (chosen) select.value = chosen;
  showQuota();
  $("login").hidden = true;
  $("main").hidden = false;
  await loadHistory();
}

function showQuota() {
  const a = me && me.assignments.find((x) => x.id === $("assignment").value);
  $("quota").textContent = a ? quotaText(a) : "";
}

async function loadHistory() {
  const { data } = await api("api/requests");
  const rows = data.requests.map((r) => {
    const tr = document.createElement("tr");
    tr.dataset.id = r.id;
    const score = r.status === "answered" ? `${r.score} / ${r.max_score}` : (r.error ? r.error.split(/[;:(]/)[0].slice(0, 60) : "");
    for (const text of [r.id, r.assignment, new Date(r.received_at).toLocaleString(), r.status, score]) {
      const td = document.createElement("td");
      td.textContent = String(text);
      tr.appendChild(td);
    }
    tr.addEventListener("click", () => show(r.id));
    return tr;
  });
  $("history").querySelector("tbody").replaceChildren(...rows);
}

function renderAnswer(request) {
  const section = $("answer");
  section.replaceChildren();
  const heading = document.createElement("h2");
  heading.textContent = `Request ${request.id}: ${request.assignment}`;
  section.appendChild(heading);
  if (request.status !== "answered") {
    const p = document.createElement("p");
    p.textContent = request.error ? `${request.status}: ${request.error}` : request.status;
    p.className = request.status === "failed" ? "refused" : "";
    section.appendChild(p);
    return;
  }
  const answer = request.answer;
  const total = document.createElement("p");
  total.className = "score";
  total.textContent = `The hidden tests would give ${answer.score} of ${answer.max_score} points.`;
  section.appendChild(total);
  for (const note of answer.notes) {
    const p = document.createElement("p");
    p.textContent = "Note: " + note;
    section.appendChild(p);
  }
  for (const f of answer.functions) {
    const details = document.createElement("details");
    details.className = f.passed ? "passed" : "failed";
    details.open = !f.passed;
    const summary = document.createElement("summary");
    summary.textContent = `${f.function}: ${f.score} of ${f.points} points (${f.cases_passed}/${f.cases} cases)`;
    const pre = document.createElement("pre");
    pre.textContent = f.feedback;
    details.append(summary, pre);
    section.appendChild(details);
  }
}

async function show(id) {
  const { data } = await api(`api/requests/${id}`);
  renderAnswer(data);
}

async function follow(request) {
  while (PENDING.has(request.status)) {
    say(request.status === "queued" ? `Waiting: ${request.position ?? 0} ahead of yours.` : "Running the hidden tests...");
    try {
      request = (await api(`api/requests/${request.id}?wait=25`)).data;
    } catch (e) {
      await new Promise((r) => setTimeout(r, 2000)); // the service restarting: it keeps the request
    }
  }
  say(request.status === "answered" ? `Answered: ${request.score} of ${request.max_score} points.` : `Not graded: ${request.error}`,
      request.status === "answered" ? "answered" : "refused");
  renderAnswer(request);
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  sessionStorage.setItem("tdn-token", $("token").value.trim());
  $("token").value = "";
  try { await loadMe(); } catch (e) { /* signedOut said why */ }
});

$("sign-out").addEventListener("click", () => signedOut(""));
$("assignment").addEventListener("change", showQuota);

$("send").addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = $("file").files[0];
  if (!file) { say("Choose your saved .ipynb file first.", "refused"); return; }
  if (me && file.size > me.max_upload_bytes) {
    say(`That file is larger than ${me.max_upload_bytes / 1048576} MB: clear the outputs, save, and send it again.`, "refused");
    return;
  }
  $("submit").disabled = true;
  say("Sending...");
  try {
    const assignment = $("assignment").value;
    const { status, data } = await api(`api/assignments/${encodeURIComponent(assignment)}/requests`,
      { method: "POST", body: file, headers: { "Content-Type": "application/x-ipynb+json" } });
    if (status === 200 || status === 202) {
      if (data.message) say(data.message);
      await follow(data);
    } else {
      say(data.error || `The service answered ${status}.`, "refused");
    }
    await loadMe();
  } catch (e) {
    if (e.message !== "not signed in") say(`Could not reach the service: ${e.message}`, "refused");
  } finally {
    $("submit").disabled = false;
  }
});

if (MODE === "token" && !token()) signedOut("");
else loadMe().catch(() => {});
