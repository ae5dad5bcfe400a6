// The station's dashboard: renders the status the station streams (Server-Sent Events on /api/events), sends
// console commands (POST /api/command with the page's bearer token), and plots each listener's loss and jitter
// over the last five minutes: the station's history of their reports (GET /api/history) when the page opens,
// then the figures each status brings.
// Every string from the station (titles, and listeners' names, which come from the network) is set with
// textContent, never as HTML.
"use strict";

const TOKEN = document.querySelector('meta[name="radio-token"]').content;
const HISTORY_S = 300;          // what the plots show
const SAMPLE_EVERY_S = 1;       // one point a listener a second at most: 300 points a line
const GAP_S = 15;               // no line drawn across a longer silence (the stream lost, a listener gone):
                                // longer than two of a listener's report intervals (RTCP: 2 to 6 s apart)
const VOLUME_HOLD_MS = 1500;    // after the operator moves the slider, the station's value waits this long
const CONNECTION_LOST = "connection lost, reconnecting…";
const COLORS = ["#1f5fbf", "#d1495b", "#2a9d8f", "#e09f3e", "#7b2cbf", "#3a86ff", "#6a994e", "#9c6644"];

// ssrc -> {label, color, points: [{t, loss, jitter}]}, kept client-side across events
const listenerHistory = new Map();
let colorCount = 0;
let queueKey = null;
let volumeHeldUntil = 0;
let lastStatus = null;

const $ = (id) => document.getElementById(id);

// The token came in the address bar (/?token=T); the station has set its cookie, so hide it from the bar and
// from the browser's history.
if (location.search.includes("token=")) {
  try {
    window.history.replaceState(null, "", "/");
  } catch (error) {
    // a page where this is refused: the token stays in the bar
  }
}

// ---------- formatting ----------

function clock(seconds) {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) {
    return "–:––";
  }
  const whole = Math.max(0, Math.floor(seconds));
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = String(whole % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

function figure(value, digits = 1, unit = "") {
  if (value === null || value === undefined || !isFinite(value)) {
    return "–";
  }
  return value.toFixed(digits) + unit;
}

function listenerLabel(listener) {
  return listener.name || listener.cname || `SSRC ${listener.ssrc}`;
}

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) {
    node.textContent = text;
  }
  if (className) {
    node.className = className;
  }
  return node;
}

// ---------- commands ----------

function showAnswer(ok, line, answer) {
  const box = $("answer");
  box.textContent = `${line} → ${answer}`;
  box.classList.toggle("error", !ok);
}

async function command(line) {
  try {
    const reply = await fetch("/api/command", {
      method: "POST",
      credentials: "same-origin",
      headers: {"Authorization": `Bearer ${TOKEN}`, "Content-Type": "application/json"},
      body: JSON.stringify({command: line}),
    });
    let body;
    try {
      body = await reply.json();
    } catch (error) {
      body = {ok: false, answer: `HTTP ${reply.status} ${reply.statusText}`};
    }
    showAnswer(reply.ok && body.ok === true, line, String(body.answer ?? ""));
  } catch (error) {
    showAnswer(false, line, `no answer from the station (${error.message})`);
  }
  refresh();  // at once, rather than at the next event
}

// ---------- rendering ----------

function render(status) {
  lastStatus = status;
  const name = status.name || "Multicast Radio";
  $("station-name").textContent = name;
  document.title = status.title ? `${status.title} – ${name}` : name;

  const live = status.source === "live";
  $("title").textContent = status.title || (live ? "Live" : "Nothing playing");
  const playing = status.state === "playing";
  const state = $("state");
  state.textContent = playing ? "playing" : "paused";
  state.className = `badge ${playing ? "playing" : "paused"}`;
  const source = $("source");
  source.textContent = live ? "live" : "files";
  source.className = `badge ${live ? "live" : "files"}`;

  const duration = status.duration_s;
  const position = status.position_s;
  const fraction = duration > 0 && position !== null ? Math.min(1, Math.max(0, position / duration)) : 0;
  $("position-fill").style.width = `${(fraction * 100).toFixed(2)}%`;
  $("position-text").textContent = `${clock(position)} / ${clock(duration)}`;

  const toggle = $("play-pause");
  toggle.textContent = playing ? "PAUSE" : "PLAY";
  toggle.dataset.command = playing ? "PAUSE" : "PLAY";

  if (Date.now() > volumeHeldUntil && typeof status.volume_percent === "number") {
    $("volume").value = String(Math.round(status.volume_percent));
    $("volume-text").textContent = `${Math.round(status.volume_percent)} %`;
  }

  renderQueue(status.queue);
  renderListeners(status.listeners || []);
  renderFigures(status);
  record(status.listeners || []);
  drawPlots();
}

function renderQueue(queue) {
  const list = $("queue");
  const hasFiles = queue !== null && queue !== undefined;
  $("queue-empty").hidden = hasFiles;
  $("prev").disabled = !hasFiles;
  $("next").disabled = !hasFiles;
  if (!hasFiles) {
    $("queue-modes").textContent = "";
    list.replaceChildren();
    queueKey = null;
    return;
  }
  $("queue-modes").textContent = `shuffle ${queue.shuffle ? "on" : "off"} · repeat ${queue.repeat}`;
  // rebuilt only when it changed: a list redrawn under the pointer twice a second would eat clicks
  const key = JSON.stringify(queue.tracks);
  if (key === queueKey) {
    return;
  }
  queueKey = key;
  const count = queue.tracks.length;
  const items = queue.tracks.map((track) => {
    const item = element("li");
    if (track.current) {
      item.className = "current";
      item.setAttribute("aria-current", "true");
    }
    item.append(element("span", track.current ? `▶ ${track.number}` : String(track.number), "number"));
    const title = element("span", track.title, "track");
    title.title = track.title;
    item.append(title);
    item.append(element("span", track.duration_s === null ? "" : clock(track.duration_s), "duration"));
    const actions = element("span", undefined, "actions");
    actions.append(
      button("▶", `play track ${track.number}`, `PLAY ${track.number}`),
      button("▲", `move track ${track.number} up`, `MOVE ${track.number} ${track.number - 1}`,
             track.number <= 1),
      button("▼", `move track ${track.number} down`, `MOVE ${track.number} ${track.number + 1}`,
             track.number >= count),
      button("✕", `remove track ${track.number}`, `REMOVE ${track.number}`),
    );
    item.append(actions);
    return item;
  });
  list.replaceChildren(...items);
}

function button(text, label, line, disabled = false) {
  const node = element("button", text);
  node.type = "button";
  node.title = label;
  node.setAttribute("aria-label", label);
  node.disabled = disabled;
  node.addEventListener("click", () => command(line));
  return node;
}

function renderListeners(listeners) {
  const rows = listeners.map((listener) => {
    const row = element("tr");
    const name = element("td");
    const swatch = element("span", undefined, "swatch");
    swatch.style.background = colorOf(listener.ssrc);
    name.append(swatch, document.createTextNode(listenerLabel(listener)));
    name.title = listener.cname || "";
    const ago = listener.last_report_s_ago;
    row.append(
      name,
      element("td", figure(listener.fraction_lost_pct, 1)),
      element("td", figure(listener.jitter_ms, 2)),
      element("td", figure(listener.round_trip_ms, 2)),
      element("td", figure(listener.delay_ms, 1)),
      element("td", ago === null || ago === undefined ? "–" : `${ago.toFixed(1)} s ago`),
    );
    return row;
  });
  document.querySelector("#listeners tbody").replaceChildren(...rows);
  $("listeners-empty").hidden = listeners.length > 0;
  $("listener-count").textContent = listeners.length ? `(${listeners.length})` : "";
}

function renderFigures(status) {
  $("fig-address").textContent = `${status.group}:${status.port}`;
  $("fig-codec").textContent = status.codec || "–";
  const send = status.send || {};
  $("fig-packets").textContent = typeof send.packets_sent === "number" ? send.packets_sent.toLocaleString("en") : "–";
  $("fig-send-error").textContent =
    `${figure(send.send_error_p50_ms, 2)} / ${figure(send.send_error_p99_ms, 2)} / ${figure(send.send_error_max_ms, 2)} ms`;
  $("fig-listeners").textContent = String((status.listeners || []).length);
}

// ---------- history and plots ----------

function colorOf(ssrc) {
  let entry = listenerHistory.get(ssrc);
  if (!entry) {
    entry = {label: String(ssrc), color: COLORS[colorCount++ % COLORS.length], points: []};
    listenerHistory.set(ssrc, entry);
  }
  return entry.color;
}

function record(listeners) {
  const now = Date.now() / 1000;
  for (const listener of listeners) {
    colorOf(listener.ssrc);
    const entry = listenerHistory.get(listener.ssrc);
    entry.label = listenerLabel(listener);
    const last = entry.points[entry.points.length - 1];
    if (listener.fraction_lost_pct === null && listener.jitter_ms === null) {
      continue;  // not reported yet
    }
    if (!last || now - last.t >= SAMPLE_EVERY_S) {
      entry.points.push({t: now, loss: listener.fraction_lost_pct, jitter: listener.jitter_ms});
    }
  }
  for (const [ssrc, entry] of listenerHistory) {
    while (entry.points.length && entry.points[0].t < now - HISTORY_S) {
      entry.points.shift();
    }
    if (!entry.points.length && !listeners.some((listener) => listener.ssrc === ssrc)) {
      listenerHistory.delete(ssrc);  // gone, and out of the window
    }
  }
}

// The reports the station kept of the last minutes, before what the events bring: a dashboard opened now plots
// the minutes before it too. `listener.points` are [seconds ago, loss %, jitter ms], oldest first.
async function seedHistory() {
  try {
    const reply = await fetch("/api/history", {credentials: "same-origin", cache: "no-store"});
    if (!reply.ok) {
      return;
    }
    const now = Date.now() / 1000;
    for (const listener of (await reply.json()).listeners || []) {
      colorOf(listener.ssrc);
      const entry = listenerHistory.get(listener.ssrc);
      entry.label = listenerLabel(listener);
      const earliest = entry.points.length ? entry.points[0].t : Infinity;
      const past = listener.points.map(([ago, loss, jitter]) => ({t: now - ago, loss, jitter}))
        .filter((point) => point.t < earliest);
      entry.points.unshift(...past);
    }
    drawPlots();
  } catch (error) {
    // no history: the plots start from now
  }
}

// A round top of the axis for `max`, the step between its ticks (1, 2 or 5 times a power of ten), and the
// decimals its labels need.
function niceScale(max, ticks = 4) {
  const raw = Math.max(max, 1e-9) / ticks;
  const power = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((k) => k * power).find((s) => s >= raw * (1 - 1e-9));
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return {top: Math.ceil(max / step - 1e-9) * step, step, decimals};
}

function drawPlots() {
  drawPlot($("loss-plot"), "loss", 1);
  drawPlot($("jitter-plot"), "jitter", 0.1);
}

// `key` of every listener's points against time; the y axis reaches at least `minTop`.
function drawPlot(canvas, key, minTop) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (!width || !height) {
    return;
  }
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const style = getComputedStyle(document.body);
  const font = style.fontFamily;
  const ink = "#1d2430";
  const muted = "#5f6b7a";
  const grid = "#e3e8ee";

  const now = Date.now() / 1000;
  const lines = [...listenerHistory.values()].filter((entry) => entry.points.some((p) => p[key] !== null));
  let max = 0;
  for (const entry of lines) {
    for (const point of entry.points) {
      if (point[key] !== null) {
        max = Math.max(max, point[key]);
      }
    }
  }
  const {top, step, decimals} = niceScale(Math.max(max, minTop));

  ctx.font = `11px ${font}`;
  const labelWidth = ctx.measureText(top.toFixed(decimals)).width;
  const left = Math.ceil(labelWidth) + 12;
  const right = 10;
  const plotTop = 10;
  const bottom = 22;
  const w = width - left - right;
  const h = height - plotTop - bottom;
  const x = (t) => left + ((t - (now - HISTORY_S)) / HISTORY_S) * w;
  const y = (v) => plotTop + h - (v / top) * h;

  // grid and y ticks
  ctx.lineWidth = 1;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (let i = 0; i * step <= top + 1e-9; i++) {
    const v = i * step;
    const yy = Math.round(y(v)) + 0.5;
    ctx.strokeStyle = v === 0 ? muted : grid;
    ctx.beginPath();
    ctx.moveTo(left, yy);
    ctx.lineTo(left + w, yy);
    ctx.stroke();
    ctx.fillStyle = muted;
    ctx.fillText(v.toFixed(decimals), left - 6, yy);
  }
  // x ticks: a minute apart
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (let minutes = 5; minutes >= 0; minutes--) {
    const xx = Math.round(x(now - minutes * 60)) + 0.5;
    ctx.strokeStyle = minutes === 5 ? muted : grid;
    ctx.beginPath();
    ctx.moveTo(xx, plotTop);
    ctx.lineTo(xx, plotTop + h + 4);
    ctx.stroke();
    ctx.fillStyle = muted;
    ctx.textAlign = minutes === 0 ? "right" : minutes === 5 ? "left" : "center";
    ctx.fillText(minutes === 0 ? "now" : `−${minutes} min`, minutes === 0 ? xx + 4 : xx, plotTop + h + 6);
  }

  // one line a listener
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, plotTop - 2, w, h + 4);
  ctx.clip();
  ctx.lineWidth = 2;
  ctx.lineJoin = "round";
  for (const entry of lines) {
    ctx.strokeStyle = entry.color;
    ctx.beginPath();
    let previous = null;
    for (const point of entry.points) {
      if (point[key] === null) {
        previous = null;
        continue;
      }
      if (previous === null || point.t - previous.t > GAP_S) {
        ctx.moveTo(x(point.t), y(point[key]));
      } else {
        ctx.lineTo(x(point.t), y(point[key]));
      }
      previous = point;
    }
    ctx.stroke();
    const last = entry.points[entry.points.length - 1];
    if (last && last[key] !== null) {  // the latest value as a dot, visible even before a line has two points
      ctx.fillStyle = entry.color;
      ctx.beginPath();
      ctx.arc(x(last.t), y(last[key]), 2.5, 0, 2 * Math.PI);
      ctx.fill();
    }
  }
  ctx.restore();

  // legend, top left inside the plot
  if (!lines.length) {
    ctx.fillStyle = muted;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.font = `12px ${font}`;
    ctx.fillText("waiting for listeners' reports", left + w / 2, plotTop + h / 2);
    return;
  }
  ctx.font = `12px ${font}`;
  ctx.textAlign = "left";
  ctx.textBaseline = "middle";
  const shown = lines.slice(0, 6);
  const names = shown.map((entry) => clip(ctx, entry.label, 160));
  if (lines.length > shown.length) {
    names.push(`+${lines.length - shown.length} more`);
  }
  const boxWidth = Math.min(w - 8, Math.max(...names.map((n) => ctx.measureText(n).width)) + 30);
  const row = 16;
  const bx = left + 6;
  const by = plotTop + 4;
  ctx.fillStyle = "rgba(255, 255, 255, 0.85)";
  ctx.strokeStyle = grid;
  ctx.fillRect(bx, by, boxWidth, names.length * row + 6);
  ctx.strokeRect(bx + 0.5, by + 0.5, boxWidth, names.length * row + 6);
  names.forEach((name, i) => {
    const yy = by + 3 + row * i + row / 2;
    if (i < shown.length) {
      ctx.fillStyle = shown[i].color;
      ctx.fillRect(bx + 6, yy - 1.5, 14, 3);
    }
    ctx.fillStyle = ink;
    ctx.fillText(name, bx + 24, yy);
  });
}

// `text` cut with an ellipsis to fit `max` pixels.
function clip(ctx, text, max) {
  if (ctx.measureText(text).width <= max) {
    return text;
  }
  let cut = text;
  while (cut.length > 1 && ctx.measureText(cut + "…").width > max) {
    cut = cut.slice(0, -1);
  }
  return cut + "…";
}

// ---------- the station's stream ----------

async function refresh() {
  try {
    const reply = await fetch("/api/status", {credentials: "same-origin", cache: "no-store"});
    if (reply.ok) {
      render(await reply.json());
    } else if (reply.status === 401) {
      // opened without the token (or the station restarted with another): nothing to show until it is given
      setLost(true, "not authorized: open the dashboard's URL as the station printed it, with ?token=");
    }
  } catch (error) {
    // the event stream shows the connection's state
  }
}

// The indicator shown (with `why`, or that the connection is lost) or hidden; while shown, the figures below are
// greyed, as they are no longer the station's present.
function setLost(lost, why = CONNECTION_LOST) {
  const connection = $("connection");
  if (lost && (connection.hidden || why !== CONNECTION_LOST)) {
    connection.textContent = why;
  }
  connection.hidden = !lost;
  document.body.classList.toggle("stale", lost);
}

function connect() {
  const events = new EventSource("/api/events");
  events.onopen = () => {
    setLost(false);
  };
  events.onmessage = (event) => {
    setLost(false);
    try {
      render(JSON.parse(event.data));
    } catch (error) {
      console.error("dashboard: a status it cannot show", error);
    }
  };
  events.onerror = () => {
    setLost(true);
    // EventSource reconnects by itself, unless the reply was no stream at all (a station restarting, an HTTP
    // error): then it gives up, and this tries again, and says so if the reason is the token
    if (events.readyState === EventSource.CLOSED) {
      refresh();
      setTimeout(connect, 3000);
    }
  };
}

function setUp() {
  $("play-pause").addEventListener("click", (event) => command(event.currentTarget.dataset.command || "TOGGLE"));
  $("next").addEventListener("click", () => command("NEXT"));
  $("prev").addEventListener("click", () => command("PREV"));
  const volume = $("volume");
  volume.addEventListener("input", () => {
    volumeHeldUntil = Date.now() + VOLUME_HOLD_MS;
    $("volume-text").textContent = `${volume.value} %`;
  });
  volume.addEventListener("change", () => {
    volumeHeldUntil = Date.now() + VOLUME_HOLD_MS;
    command(`VOLUME ${volume.value}`);
  });
  $("command-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const line = $("command").value.trim();
    if (line) {
      command(line);
      $("command").value = "";
    }
  });
  let resizing = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(drawPlots, 100);
  });
  // the plots scroll with time even when no event comes (the stream lost)
  setInterval(() => {
    if (lastStatus) {
      drawPlots();
    }
  }, 2000);
  seedHistory();
  refresh();
  connect();
}

setUp();
