// The tracker's page: draws the live topology (GET /topology) and one order's sequence diagram
// (GET /flows/{id}), and marks the orders stalled past the deadline of their status (GET
// /stalled, the order service's list), refreshed every few seconds; lists the dead letters (GET
// /dead-letters) and replays them (POST /dead-letters/replay). Plain JavaScript and SVG, nothing
// fetched from elsewhere, so it works offline.
//
// Every one of those APIs is for staff only, and the page itself holds no data: it signs in.
// The staff member pastes a bearer token (`scripts/shopctl token --staff`) into the sign-in box;
// the page keeps it in sessionStorage (this tab only, gone when it closes) and sends it as
// `Authorization: Bearer` with every fetch, never as a cookie (so a foreign page cannot make the
// browser send it: the replay needs no CSRF token). A 401 or 403 from any API forgets the token,
// clears what was drawn, says the token was refused and asks for one again. Signed out, the page
// fetches nothing.
"use strict";

const REFRESH_MS = 3000;
const SVG_NS = "http://www.w3.org/2000/svg";

/// Creates an SVG element with attributes (data-* included) and optional text.
function svg(name, attributes = {}, text) {
  const element = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) element.setAttribute(key, String(value));
  }
  if (text !== undefined) element.textContent = text;
  return element;
}

function clear(element) {
  while (element.firstChild) element.removeChild(element.firstChild);
}

// ---------------------------------------------------------------------------------------------
// The session: the staff member's token, and the one way the page calls the APIs.

/// Where this tab keeps the token: sessionStorage, not localStorage, so that it does not outlive
/// the tab nor reach the other tabs.
const TOKEN_KEY = "tracker.staff-token";

const session = {
  /// `signed-out`, `checking` (a token being tried), `signed-in` or `refused`.
  state: "signed-out",
  /// The bearer token sent with every API call; null when signed out.
  token: null,
  /// Bumped at every sign-in and sign-out: an answer to a call made under an earlier one is
  /// dropped, so a late 401 of a forgotten token cannot sign out its successor, and a late
  /// answer cannot draw data after a sign-out.
  generation: 0,
};

/// Thrown by `api` when the call had no token, or its session ended meanwhile: the caller has
/// nothing to show, the sign-in box says why.
class SignedOut extends Error {
  constructor() {
    super("signed out");
    this.name = "SignedOut";
  }
}

function storedToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

function storeToken(token) {
  try {
    if (token === null) sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // Storage refused (a private window's quota): the token lives in `session` until a reload.
  }
}

/// The subject (`sub`) a JWT names, to say who is signed in; null when it cannot be read. Only
/// shown, never trusted: the tracker verifies the token at every call.
function tokenSubject(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(part + "=".repeat((4 - (part.length % 4)) % 4)));
    return typeof claims.sub === "string" ? claims.sub : null;
  } catch {
    return null;
  }
}

/// Calls `path` with the session's token; the answer's JSON, or an error carrying its message
/// and status. A 401 or 403 ends the session (see `refuse`) and throws `SignedOut`, as does a
/// call without a token or one whose session ended before it was answered.
async function api(path, { method = "GET", body } = {}) {
  const { token, generation } = session;
  if (!token) throw new SignedOut();
  const headers = { accept: "application/json", authorization: `Bearer ${token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    // No cookie is ever involved: the token travels in the header above only.
    credentials: "omit",
  });
  const answer = await response.json().catch(() => ({}));
  if (generation !== session.generation) throw new SignedOut();
  if (response.status === 401 || response.status === 403) {
    refuse(response.status, answer.message);
    throw new SignedOut();
  }
  if (!response.ok) {
    const error = new Error(answer.message || `${path} answered ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return answer;
}

function getJson(path) {
  return api(path);
}

/// POSTs `body` as JSON to `path`; the answer's JSON, or an error carrying its message.
function postJson(path, body) {
  return api(path, { method: "POST", body });
}

/// Shows `state` (`signed-out`, `checking`, `signed-in` or `refused`, also `data-auth` on the
/// body) with `message` in the sign-in box; the data only when signed in.
function showAuth(state, message = "") {
  session.state = state;
  document.body.dataset.auth = state;
  const signedIn = state === "signed-in";
  document.getElementById("signed-in").hidden = !signedIn;
  document.getElementById("sign-in-section").hidden = signedIn;
  document.getElementById("session").hidden = !signedIn;
  document.getElementById("sign-in-submit").disabled = state === "checking";
  document.getElementById("sign-in-status").textContent = message;
  if (signedIn) {
    document.getElementById("session-name").textContent = tokenSubject(session.token) ?? "staff";
  } else {
    setStatus(state === "refused" ? "token refused" : state === "checking" ? "signing in…" : "signed out");
    if (state !== "checking") document.getElementById("token").focus();
  }
}

/// Signs in with `token`: one cheap staff call decides. Refused (401, 403), the box says so;
/// otherwise (accepted, or an answer that does not judge the token, such as a 503) the token is
/// kept in this tab and every panel is read.
async function signIn(token) {
  token = token.trim().replace(/^bearer\s+/i, "");
  forget();
  if (!token) {
    showAuth("signed-out", "Signed out: paste a staff token to sign in.");
    return;
  }
  session.token = token;
  const generation = session.generation;
  showAuth("checking", "Checking the token…");
  try {
    await api("/flows?limit=1");
  } catch (error) {
    if (error instanceof SignedOut) return;
  }
  // Another token was given, or Sign out pressed, while this one was tried.
  if (generation !== session.generation) return;
  storeToken(token);
  showAuth("signed-in");
  refreshAll();
}

/// Ends the session after the tracker refused its token with `status` (401: none valid, such
/// as expired or not the shop's; 403: valid, but not staff).
function refuse(status, message) {
  forget();
  const why = status === 403
    ? "this page is for staff only, and this token is not a staff token"
    : "it is not valid (expired, or not signed by the shop)";
  showAuth("refused",
    `Token refused (${status}): ${why}${message ? ` (the tracker says: ${message})` : ""}. ` +
      "Sign in again with a staff token.");
}

function signOut() {
  forget();
  showAuth("signed-out", "Signed out: this tab no longer holds a token. Paste a staff token to sign in again.");
}

/// Forgets the token (here, in sessionStorage and in the sign-in box) and everything drawn
/// with it.
function forget() {
  session.token = null;
  session.generation += 1;
  storeToken(null);
  document.getElementById("token").value = "";
  clearData();
}

document.getElementById("sign-in-form").addEventListener("submit", (submit) => {
  submit.preventDefault();
  signIn(document.getElementById("token").value);
});
document.getElementById("sign-out").addEventListener("click", () => signOut());

/// Creates an HTML element with attributes (data-* included) and optional text.
function html(name, attributes = {}, text) {
  const element = document.createElement(name);
  for (const [key, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) element.setAttribute(key, String(value));
  }
  if (text !== undefined) element.textContent = text;
  return element;
}

/// Calls `task` now and again `REFRESH_MS` after each run ends, so runs never overlap; skipped
/// unless signed in (signing in reads every panel at once).
function every(task) {
  const run = async () => {
    try {
      if (session.state === "signed-in") await task();
    } catch (error) {
      if (!(error instanceof SignedOut)) console.warn(error);
    }
    // How many rounds the timers have made, signed in or not (`data-rounds`): what a test
    // awaits to know that a round came and went, rather than guessing a duration.
    document.body.dataset.rounds = String(Number(document.body.dataset.rounds || 0) + 1);
    setTimeout(run, REFRESH_MS);
  };
  run();
}

function setStatus(text) {
  document.getElementById("status").textContent = text;
}

// ---------------------------------------------------------------------------------------------
// Topology: four columns, exchanges → bindings → queues → services.

const TOPOLOGY = {
  rowHeight: 26,
  top: 30,
  columns: { exchange: 10, binding: 190, queue: 440, service: 690 },
  widths: { exchange: 130, binding: 190, queue: 190, service: 140 },
  boxHeight: 22,
};

/// The services consuming right now, from the last topology read; `null` until one was read.
let liveServices = null;

async function refreshTopology() {
  let topology;
  try {
    topology = await getJson("/topology");
  } catch (error) {
    if (error instanceof SignedOut) return;
    setStatus(`topology unavailable: ${error.message}`);
    return;
  }
  liveServices = new Set(topology.services);
  drawTopology(topology);
  // A dead-letter queue's count changed: read the dead letters again (not at every tick: a
  // listing takes every message of a queue and gives it back).
  const counts = deadLetterCounts(topology);
  if (lastDeadLetterCounts !== null && counts !== lastDeadLetterCounts) refreshDeadLetters();
  lastDeadLetterCounts = counts;
  setStatus(
    `topology of vhost ${topology.vhost} at ${new Date().toLocaleTimeString()}: ` +
      `${topology.exchanges.length} exchanges, ${topology.queues.length} queues`,
  );
}

function drawTopology(topology) {
  const { rowHeight, top, columns, widths, boxHeight } = TOPOLOGY;
  const root = document.getElementById("topology");
  clear(root);
  document.getElementById("vhost").textContent = `(vhost ${topology.vhost})`;

  // One pill per (exchange, pattern), with a line to every queue bound with it.
  const pills = new Map();
  for (const binding of topology.bindings) {
    const key = `${binding.exchange}\u0000${binding.pattern}`;
    if (!pills.has(key)) pills.set(key, { exchange: binding.exchange, pattern: binding.pattern, queues: [] });
    pills.get(key).queues.push(binding.queue);
  }
  const bindings = [...pills.values()].sort((a, b) =>
    (a.exchange + " " + a.pattern).localeCompare(b.exchange + " " + b.pattern),
  );
  const boundQueues = topology.queues.filter((q) => topology.bindings.some((b) => b.queue === q.name));
  const rows = Math.max(bindings.length, boundQueues.length, topology.exchanges.length, 1);
  const height = top + rows * rowHeight + 10;
  const width = columns.service + widths.service + 10;
  root.setAttribute("width", width);
  root.setAttribute("height", height);
  root.setAttribute("viewBox", `0 0 ${width} ${height}`);

  for (const [column, title] of [
    ["exchange", "EXCHANGES"],
    ["binding", "BINDINGS"],
    ["queue", "QUEUES"],
    ["service", "SERVICES"],
  ]) {
    root.appendChild(svg("text", { x: columns[column], y: 14, class: "column-title" }, title));
  }

  const spread = (count, index) => top + ((index + 0.5) * (rows * rowHeight)) / Math.max(count, 1);
  const bindingY = bindings.map((_, index) => spread(bindings.length, index));
  const queueY = new Map(boundQueues.map((q, index) => [q.name, spread(boundQueues.length, index)]));
  const exchangeY = new Map();
  topology.exchanges.forEach((exchange, index) => {
    const ys = bindings.map((b, i) => (b.exchange === exchange.name ? bindingY[i] : null)).filter((y) => y !== null);
    exchangeY.set(
      exchange.name,
      ys.length ? ys.reduce((sum, y) => sum + y, 0) / ys.length : spread(topology.exchanges.length, index),
    );
  });
  const serviceYs = new Map();
  for (const queue of boundQueues) {
    for (const service of queue.services) {
      if (!serviceYs.has(service)) serviceYs.set(service, []);
      serviceYs.get(service).push(queueY.get(queue.name));
    }
  }
  const serviceY = new Map([...serviceYs].map(([service, ys]) => [service, ys.reduce((s, y) => s + y, 0) / ys.length]));

  const links = svg("g", { class: "links" });
  root.appendChild(links);
  const curve = (x1, y1, x2, y2) => {
    const middle = (x1 + x2) / 2;
    return `M${x1},${y1} C${middle},${y1} ${middle},${y2} ${x2},${y2}`;
  };

  bindings.forEach((binding, index) => {
    const y = bindingY[index];
    const from = exchangeY.get(binding.exchange);
    const common = { "data-exchange": binding.exchange, "data-pattern": binding.pattern };
    links.appendChild(svg("path", { class: "link", d: curve(columns.exchange + widths.exchange, from, columns.binding, y), ...common }));
    for (const queue of binding.queues) {
      const to = queueY.get(queue);
      links.appendChild(svg("path", { class: "link", d: curve(columns.binding + widths.binding, y, columns.queue, to), ...common, "data-queue": queue }));
    }
    const group = svg("g", { class: "binding", ...common, "data-queues": binding.queues.join(",") });
    group.appendChild(svg("rect", { x: columns.binding, y: y - boxHeight / 2 + 2, width: widths.binding, height: boxHeight - 4, rx: 4 }));
    group.appendChild(svg("text", { x: columns.binding + 8, y: y + 4 }, binding.pattern));
    group.appendChild(svg("title", {}, `${binding.exchange} → ${binding.queues.join(", ")} with ${binding.pattern}`));
    root.appendChild(group);
  });

  for (const exchange of topology.exchanges) {
    const y = exchangeY.get(exchange.name);
    const group = svg("g", { class: "exchange", "data-exchange": exchange.name });
    group.appendChild(svg("rect", { x: columns.exchange, y: y - boxHeight / 2, width: widths.exchange, height: boxHeight, rx: 4 }));
    group.appendChild(svg("text", { x: columns.exchange + 8, y: y + 4 }, exchange.name));
    group.appendChild(svg("title", {}, `exchange ${exchange.name} (${exchange.type}${exchange.durable ? ", durable" : ""})`));
    root.appendChild(group);
  }

  for (const queue of boundQueues) {
    const y = queueY.get(queue.name);
    for (const service of queue.services) {
      links.appendChild(svg("path", {
        class: "link",
        d: curve(columns.queue + widths.queue, y, columns.service, serviceY.get(service)),
        "data-queue": queue.name,
        "data-service": service,
      }));
    }
    const group = svg("g", { class: "queue", "data-queue": queue.name, "data-consumers": queue.consumers });
    group.appendChild(svg("rect", { x: columns.queue, y: y - boxHeight / 2, width: widths.queue, height: boxHeight, rx: 4 }));
    group.appendChild(svg("text", { x: columns.queue + 8, y: y + 4 }, queue.name));
    const count = queue.messages === null ? "" : `${queue.messages} msg · `;
    group.appendChild(svg("text", { x: columns.queue + widths.queue - 6, y: y + 4, "text-anchor": "end", class: "count" },
      `${count}${queue.consumers} cons.`));
    group.appendChild(svg("title", {}, `queue ${queue.name}: ${queue.messages ?? "?"} messages, ${queue.consumers} consumers`));
    root.appendChild(group);
  }

  for (const [service, y] of serviceY) {
    const group = svg("g", { class: "service", "data-service": service });
    group.appendChild(svg("rect", { x: columns.service, y: y - boxHeight / 2, width: widths.service, height: boxHeight, rx: 11 }));
    group.appendChild(svg("text", { x: columns.service + 10, y: y + 4 }, service));
    root.appendChild(group);
  }

  const others = topology.queues.filter((q) => !queueY.has(q.name));
  const waiting = others.filter((q) => q.role === "dead" && q.messages > 0);
  document.getElementById("other-queues").textContent = others.length
    ? `Also ${others.length} retry and dead-letter queues` +
      (waiting.length ? `; dead letters waiting in ${waiting.map((q) => `${q.name} (${q.messages})`).join(", ")}` : ", no dead letters waiting") +
      "."
    : "";
}

// ---------------------------------------------------------------------------------------------
// Recent flows and the chosen one.

let selectedOrder = null;

function orderFromHash() {
  const match = /order=([^&]+)/.exec(window.location.hash);
  return match ? decodeURIComponent(match[1]) : null;
}

function choose(orderId) {
  window.location.hash = `order=${encodeURIComponent(orderId)}`;
}

async function refreshRecent() {
  const { flows } = await getJson("/flows?limit=20");
  const list = document.getElementById("recent-flows");
  clear(list);
  if (!flows.length) {
    const empty = document.createElement("li");
    empty.className = "muted";
    empty.textContent = "no order seen yet";
    list.appendChild(empty);
  }
  for (const flow of flows) {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = `#order=${flow.order_id}`;
    link.textContent = flow.order_id;
    link.dataset.orderId = flow.order_id;
    if (flow.order_id === selectedOrder) link.className = "selected";
    const tag = document.createElement("span");
    tag.className = flow.compensated ? "tag compensated" : "tag";
    tag.textContent = `${flow.events} events, last ${flow.last_routing_key}`;
    item.append(link, tag);
    list.appendChild(item);
  }
  markStalled();
}

// ---------------------------------------------------------------------------------------------
// Stalled orders: past the deadline of their status, as the order service lists them.

/// The stalled orders by id, from the last read of /stalled; empty until one was read.
let stalledOrders = new Map();

function clock(time) {
  return new Date(time).toLocaleTimeString(undefined, { hour12: false });
}

function describeStall(order) {
  const foreign = order.origin === "foreign" ? ", submitted by another producer" : "";
  return `stalled: ${order.status} since ${clock(order.since)}, deadline ${clock(order.deadline_at)}${foreign}`;
}

async function refreshStalled() {
  const note = document.getElementById("stalled-status");
  let orders;
  try {
    ({ orders } = await getJson("/stalled"));
  } catch (error) {
    if (error instanceof SignedOut) return;
    note.textContent = `stalled orders unavailable: ${error.message}`;
    return;
  }
  stalledOrders = new Map(orders.map((order) => [order.id, order]));
  note.textContent = orders.length
    ? `${orders.length} past the deadline of their status, longest overdue first; ` +
      "a lost message is replayed from the dead letters (the Dead letters panel, or shopctl dead replay)"
    : "no order is stalled";
  const list = document.getElementById("stalled-orders");
  clear(list);
  for (const order of orders) {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = `#order=${order.id}`;
    link.textContent = order.id;
    link.dataset.orderId = order.id;
    const tag = document.createElement("span");
    tag.className = "tag stalled";
    tag.textContent = describeStall(order);
    item.append(link, tag);
    list.appendChild(item);
  }
  markStalled();
}

/// Marks the stalled orders among the recent ones, and the chosen order if it is stalled.
function markStalled() {
  for (const link of document.querySelectorAll("#recent-flows a")) {
    const item = link.parentElement;
    item.querySelector(".tag.stalled")?.remove();
    const stall = stalledOrders.get(link.dataset.orderId);
    item.classList.toggle("stalled", Boolean(stall));
    if (stall) {
      const tag = document.createElement("span");
      tag.className = "tag stalled";
      tag.textContent = stall.status === "confirmed" ? "stalled: confirmed, not shipped" : `stalled: ${stall.status}`;
      item.appendChild(tag);
    }
  }
  const note = document.getElementById("flow-stalled");
  const stall = selectedOrder ? stalledOrders.get(selectedOrder) : undefined;
  note.hidden = !stall;
  note.textContent = stall
    ? `This order is ${describeStall(stall)}. It is not cancelled: replay its lost message from the dead letters (the Dead letters panel below, or shopctl dead replay).`
    : "";
}

async function refreshFlow() {
  if (!selectedOrder) return;
  const orderId = selectedOrder;
  const error = document.getElementById("flow-error");
  try {
    const flow = await getJson(`/flows/${encodeURIComponent(orderId)}`);
    if (orderId !== selectedOrder) return;
    error.hidden = true;
    document.getElementById("flow").hidden = false;
    drawSequence(flow);
    fillTable(flow);
    markStalled();
  } catch (failure) {
    if (failure instanceof SignedOut || orderId !== selectedOrder) return;
    document.getElementById("flow").hidden = true;
    error.hidden = false;
    error.textContent = failure.status === 404
      ? `No event of order ${orderId} has been seen (yet).`
      : failure.message;
  }
}

const SEQUENCE = { left: 120, column: 165, top: 50, row: 46 };

function drawSequence(flow) {
  const { left, column, top, row } = SEQUENCE;
  const root = document.getElementById("sequence");
  clear(root);
  root.dataset.orderId = flow.order_id;
  const services = flow.services;
  const width = left + services.length * column + 20;
  const height = top + flow.events.length * row + 20;
  root.setAttribute("width", width);
  root.setAttribute("height", height);
  root.setAttribute("viewBox", `0 0 ${width} ${height}`);

  const defs = svg("defs");
  for (const [id, colour] of [["arrow", "var(--event)"], ["arrow-compensation", "var(--compensation)"]]) {
    const marker = svg("marker", { id, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto" });
    marker.appendChild(svg("path", { d: "M0,0 L10,5 L0,10 z", style: `fill: ${colour}` }));
    defs.appendChild(marker);
  }
  root.appendChild(defs);

  const x = new Map(services.map((service, index) => [service, left + index * column + column / 2]));
  // A subscriber of the contracts that consumes nothing right now (say, loyalty not started).
  const absent = (service) => liveServices !== null && !liveServices.has(service);
  for (const service of services) {
    const group = svg("g", { class: absent(service) ? "lifeline absent" : "lifeline", "data-service": service });
    group.appendChild(svg("line", { x1: x.get(service), y1: 34, x2: x.get(service), y2: height - 6 }));
    group.appendChild(svg("rect", { x: x.get(service) - 60, y: 6, width: 120, height: 26, rx: 5 }));
    group.appendChild(svg("text", { x: x.get(service), y: 24, "text-anchor": "middle" }, service));
    group.appendChild(svg("title", {}, absent(service) ? `${service}: subscribed in the contracts, not consuming now` : service));
    root.appendChild(group);
  }

  const start = flow.events.length ? Date.parse(flow.events[0].occurred_at) : 0;
  flow.events.forEach((event, index) => {
    const y = top + index * row + 20;
    const from = x.has(event.producer) ? x.get(event.producer) : left - 10;
    const consumers = event.consumers.filter((service) => x.has(service));
    const group = svg("g", {
      class: event.compensation ? "event compensation" : "event",
      "data-index": index,
      "data-message-id": event.message_id,
      "data-routing-key": event.routing_key,
      "data-producer": event.producer ?? "",
      "data-consumers": consumers.join(","),
      "data-compensation": event.compensation,
      "data-caused-by": event.caused_by ? event.caused_by.routing_key ?? event.caused_by.message_id : "",
    });
    group.appendChild(svg("text", { x: 8, y: y + 4, class: "time" }, `+${Date.parse(event.occurred_at) - start} ms`));
    const marker = event.compensation ? "url(#arrow-compensation)" : "url(#arrow)";
    for (const consumer of consumers) {
      const to = x.get(consumer);
      const end = to > from ? to - 4 : to + 4;
      group.appendChild(svg("line", {
        class: absent(consumer) ? "arrow absent" : "arrow",
        x1: from, y1: y, x2: end, y2: y,
        "marker-end": marker,
        "data-consumer": consumer,
      }));
    }
    group.appendChild(svg("circle", { cx: from, cy: y, r: 4.5 }));
    const rightwards = consumers.length === 0 || consumers.some((c) => x.get(c) > from);
    const label = (event.compensation ? "↺ " : "") + event.routing_key + (consumers.length ? "" : " (no subscriber)");
    group.appendChild(svg("text", {
      class: "label",
      x: rightwards ? from + 8 : from - 8,
      y: y - 7,
      "text-anchor": rightwards ? "start" : "end",
    }, label));
    if (event.compensation) {
      group.appendChild(svg("text", {
        class: "badge",
        x: rightwards ? from + 8 : from - 8,
        y: y + 15,
        "text-anchor": rightwards ? "start" : "end",
      }, "compensation"));
    }
    const cause = event.caused_by ? `caused by ${event.caused_by.routing_key ?? event.caused_by.message_id}` : "starts the flow";
    group.appendChild(svg("title", {}, `${event.routing_key} from ${event.producer ?? "?"} to ${consumers.join(", ") || "nobody"}; ${cause}`));
    root.appendChild(group);
  });
}

function fillTable(flow) {
  const body = document.querySelector("#events tbody");
  clear(body);
  flow.events.forEach((event, index) => {
    const row = document.createElement("tr");
    if (event.compensation) row.className = "compensation";
    const cells = [
      String(index + 1),
      new Date(event.occurred_at).toLocaleTimeString(undefined, {
        hour12: false, hour: "2-digit", minute: "2-digit", second: "2-digit", fractionalSecondDigits: 3,
      }),
      (event.compensation ? "↺ " : "") + event.routing_key,
      `${event.producer ?? "?"} → ${event.consumers.join(", ") || "nobody"}`,
      event.caused_by ? event.caused_by.routing_key ?? event.caused_by.message_id : "—",
    ];
    cells.forEach((text, cell) => {
      const td = document.createElement("td");
      td.textContent = text;
      if (cell === 2) td.className = "key";
      row.appendChild(td);
    });
    body.appendChild(row);
  });
}

// ---------------------------------------------------------------------------------------------
// Dead letters: per dead-letter queue, grouped by original routing key and reason, each group
// and each message with a Replay button.

/// The dead-letter queues' message counts at the last topology read; `null` until one was read.
let lastDeadLetterCounts = null;
/// Whether a read of /dead-letters runs, and whether another was asked for meanwhile: reads
/// never overlap (two scans of a queue would each see only part of it).
let deadLettersReading = false;
let deadLettersAgain = false;
/// What the last replay did, shown in the status line until the next one.
let lastReplay = "";

function deadLetterCounts(topology) {
  return topology.queues
    .filter((queue) => queue.role === "dead")
    .map((queue) => `${queue.name}:${queue.messages}`)
    .join(",");
}

async function refreshDeadLetters() {
  if (deadLettersReading) {
    deadLettersAgain = true;
    return;
  }
  deadLettersReading = true;
  try {
    do {
      deadLettersAgain = false;
      await readDeadLetters();
    } while (deadLettersAgain);
  } finally {
    deadLettersReading = false;
  }
}

async function readDeadLetters() {
  const status = document.getElementById("dead-letters-status");
  let listing;
  try {
    listing = await getJson("/dead-letters");
  } catch (error) {
    if (error instanceof SignedOut) return;
    status.classList.add("error");
    status.textContent = `${lastReplay}dead letters unavailable: ${error.message}`;
    return;
  }
  status.classList.remove("error");
  drawDeadLetters(listing);
  const waiting = listing.queues.filter((queue) => queue.count > 0);
  const total = waiting.reduce((sum, queue) => sum + queue.count, 0);
  status.textContent = lastReplay + (total
    ? `${total} dead letter${total === 1 ? "" : "s"} in ${waiting.length} of ${listing.queues.length} dead-letter queues`
    : `No dead letters in the ${listing.queues.length} dead-letter queues`) +
    `, read at ${clock(Date.now())}`;
}

function moment(time) {
  return time ? new Date(time).toLocaleString(undefined, { hour12: false }) : "—";
}

function drawDeadLetters(listing) {
  document.getElementById("dead-letters-vhost").textContent = `(vhost ${listing.vhost})`;
  const root = document.getElementById("dead-letters");
  clear(root);
  for (const queue of listing.queues.filter((q) => q.count > 0)) root.appendChild(deadQueue(queue));
  const empty = listing.queues.filter((q) => q.count === 0).map((q) => q.queue);
  if (empty.length) root.appendChild(html("p", { class: "muted" }, `Empty: ${empty.join(", ")}.`));
}

function deadQueue(queue) {
  const block = html("div", { class: "dead-queue", "data-queue": queue.queue });
  const title = html("h3", {}, `${queue.queue} → ${queue.service_queue}`);
  const plural = queue.count === 1 ? "" : "s";
  title.appendChild(html("span", { class: "muted" },
    `${queue.count} dead letter${plural}` + (queue.truncated ? " read; more not read (scan limit)" : "")));
  title.appendChild(replayButton("replay-all", "Replay all", { queue: queue.queue, all: true },
    `every dead letter of ${queue.queue}`));
  block.appendChild(title);

  const table = html("table", { class: "dead-groups" });
  const head = html("tr");
  for (const name of ["routing key", "reason", "count", "oldest", "newest", ""]) head.appendChild(html("th", {}, name));
  table.appendChild(html("thead")).appendChild(head);
  const body = table.appendChild(html("tbody"));
  for (const group of queue.groups) {
    const row = html("tr", {
      class: "dead-group",
      "data-queue": queue.queue,
      "data-routing-key": group.routing_key,
      "data-reason": group.reason ?? "",
      "data-count": group.count,
      "data-message-ids": group.message_ids.join(","),
    });
    row.appendChild(html("td", { class: "key" }, group.routing_key));
    row.appendChild(html("td", { class: group.reason === null ? "none" : "reason" }, group.reason ?? "no reason given"));
    row.appendChild(html("td", {}, String(group.count)));
    row.appendChild(html("td", {}, moment(group.oldest)));
    row.appendChild(html("td", {}, moment(group.newest)));
    const action = row.appendChild(html("td"));
    const ids = group.message_ids;
    const button = action.appendChild(replayButton("replay-group", `Replay ${ids.length}`, { queue: queue.queue, ids },
      `${ids.length} × ${group.routing_key} from ${queue.queue}`));
    if (!ids.length) {
      button.disabled = true;
      button.classList.add("no-ids");
      button.title = "no message id: use Replay all";
    }
    body.appendChild(row);

    const messages = html("tr", { class: "dead-messages", "data-routing-key": group.routing_key });
    const cell = messages.appendChild(html("td", { colspan: 6 }));
    const details = cell.appendChild(html("details"));
    const missing = group.count - ids.length;
    details.appendChild(html("summary", {},
      `${ids.length} message id${ids.length === 1 ? "" : "s"}` + (missing ? `, ${missing} without one` : "")));
    const list = details.appendChild(html("ul"));
    for (const id of ids) {
      const item = list.appendChild(html("li", { "data-message-id": id }));
      item.appendChild(html("code", {}, id));
      item.appendChild(replayButton("replay-message", "Replay", { queue: queue.queue, ids: [id] }, `message ${id}`));
    }
    body.appendChild(messages);
  }
  block.appendChild(table);
  return block;
}

function replayButton(kind, label, request, what) {
  const button = html("button", { type: "button", class: `replay ${kind}` }, label);
  button.addEventListener("click", () => replay(request, what));
  return button;
}

/// Replays what `request` names, then reads the dead letters again.
async function replay(request, what) {
  for (const button of document.querySelectorAll("#dead-letters button.replay")) button.disabled = true;
  try {
    const done = await postJson("/dead-letters/replay", request);
    lastReplay = `Replayed ${done.count} (${what}) to ${done.replayed_to}` +
      (done.count === 0 ? ": none was there any more" : "") +
      (done.stopped_early ? "; stopped early, the rest is still there (see the audit log)" : "") +
      (done.limit_reached ? "; stopped at the scan limit" : "") + ". ";
  } catch (error) {
    // Refused: the sign-in box says why, and nothing is drawn any more.
    if (error instanceof SignedOut) return;
    lastReplay = `Replay of ${what} failed: ${error.message}. `;
  }
  await refreshDeadLetters();
  // Still there when the read failed: usable again.
  for (const button of document.querySelectorAll("#dead-letters button.replay:not(.no-ids)")) button.disabled = false;
}

document.getElementById("dead-letters-refresh").addEventListener("click", () => refreshDeadLetters());

function onHashChange() {
  selectedOrder = orderFromHash();
  if (selectedOrder) document.getElementById("order-id").value = selectedOrder;
  for (const link of document.querySelectorAll("#recent-flows a")) {
    link.className = link.dataset.orderId === selectedOrder ? "selected" : "";
  }
  refreshFlow();
}

document.getElementById("flow-form").addEventListener("submit", (submit) => {
  submit.preventDefault();
  const value = document.getElementById("order-id").value.trim();
  if (value) choose(value);
});
window.addEventListener("hashchange", onHashChange);

/// Reads every panel at once, as after signing in.
function refreshAll() {
  for (const task of [refreshTopology, refreshStalled, refreshRecent, refreshFlow, refreshDeadLetters]) {
    task().catch((error) => {
      if (!(error instanceof SignedOut)) console.warn(error);
    });
  }
}

/// Empties every panel and what the page remembers of the data, as when signing out: nothing
/// read with a token stays on screen without it.
function clearData() {
  liveServices = null;
  stalledOrders = new Map();
  lastDeadLetterCounts = null;
  lastReplay = "";
  for (const id of ["topology", "sequence", "recent-flows", "stalled-orders", "dead-letters"]) {
    clear(document.getElementById(id));
  }
  clear(document.querySelector("#events tbody"));
  for (const id of ["vhost", "other-queues", "dead-letters-vhost"]) document.getElementById(id).textContent = "";
  document.getElementById("stalled-status").textContent = "loading…";
  const deadStatus = document.getElementById("dead-letters-status");
  deadStatus.textContent = "loading…";
  deadStatus.classList.remove("error");
  document.getElementById("flow").hidden = true;
  document.getElementById("flow-error").hidden = true;
  delete document.getElementById("sequence").dataset.orderId;
}

selectedOrder = orderFromHash();
if (selectedOrder) document.getElementById("order-id").value = selectedOrder;
// A token this tab kept from before a reload signs in again by itself.
const kept = storedToken();
if (kept) signIn(kept);
else showAuth("signed-out", "Signed out: paste a staff token to sign in.");
every(refreshTopology);
every(refreshStalled);
every(refreshRecent);
every(refreshFlow);
