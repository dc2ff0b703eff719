// Drives the tracker's page in Debian's headless Chromium and checks what it draws.
//
//   node flow-page.mjs <page url> '<expectations JSON>' <screenshot folder>
//
// with TRACKER_TOKEN, a staff token, in the environment: it signs in with it first, through the
// page's sign-in box.
//
// Expectations: a list of {order_id, services, routing_keys, compensations}, one per order, as
// the tracker's API gives them. The page must show the four exchanges, the services' queues and
// the services consuming them, and that no order is stalled (the order service's list, read
// through the tracker); then, for each order picked from the list of recent ones, one SVG
// group per event in the API's order, one lifeline per service, and the compensations marked in
// a colour of their own with a label. Exits non-zero, with the reason, on the first failure.
import { join } from "node:path";
import { check, fromEnv, signIn, withPage } from "./session.mjs";

const [url, expectationsJson, screenshots] = process.argv.slice(2);
if (!url || !expectationsJson || !screenshots) {
  console.error("usage: node flow-page.mjs <page url> <expectations JSON> <screenshot folder>");
  process.exit(2);
}
const token = fromEnv("TRACKER_TOKEN");
const expectations = JSON.parse(expectationsJson);
const EXCHANGES = ["order", "billing", "logistics", "mailer"];
const SERVICES = ["order", "billing", "logistics", "mailer", "tracker"];
/// Live data (consumer lists) reach the management API after a statistics round or two.
const PATIENCE_MS = 30_000;

function same(actual, expected, what) {
  check(
    JSON.stringify(actual) === JSON.stringify(expected),
    `${what}: expected ${JSON.stringify(expected)}, the page shows ${JSON.stringify(actual)}`,
  );
}

const started = Date.now();
await withPage(url, screenshots, "tracker", async (page, failures) => {
  await page.goto(url, { waitUntil: "load" });
  await signIn(page, token);
  check((await page.title()) === "Shop flow tracker", `unexpected title ${await page.title()}`);

  // The topology: exchanges, the services' queues, and who consumes them.
  for (const exchange of EXCHANGES) {
    await page.waitForSelector(`#topology g.exchange[data-exchange="${exchange}"]`, { timeout: PATIENCE_MS });
  }
  for (const service of SERVICES) {
    await page.waitForSelector(`#topology g.queue[data-queue="${service}.queue"]`, { timeout: PATIENCE_MS });
    await page.waitForSelector(`#topology g.service[data-service="${service}"]`, { timeout: PATIENCE_MS });
  }
  const submitBindings = await page.$eval(
    '#topology g.binding[data-exchange="order"][data-pattern="order.*.submit"]',
    (group) => group.dataset.queues.split(",").sort(),
  );
  same(submitBindings, ["billing.queue", "logistics.queue"], "queues bound to order.*.submit");
  const topology = await page.$$eval("#topology g.exchange", (groups) => groups.map((g) => g.dataset.exchange));
  console.log(`topology drawn: exchanges ${topology.join(", ")}`);

  // The stalled orders, read from the order service through the tracker: none, every order of
  // the test is within the deadline of its status or final.
  await page.waitForFunction(
    () => document.getElementById("stalled-status")?.textContent === "no order is stalled",
    undefined,
    { timeout: PATIENCE_MS },
  );
  console.log("stalled orders read: none");

  for (const expected of expectations) {
    const id = expected.order_id;
    await page.click(`#recent-flows a[data-order-id="${id}"]`, { timeout: PATIENCE_MS });
    await page.waitForFunction(
      ([id, count]) =>
        document.querySelector("#sequence")?.dataset.orderId === id &&
        document.querySelectorAll("#sequence g.event").length === count,
      [id, expected.routing_keys.length],
      { timeout: PATIENCE_MS },
    );
    const events = await page.$$eval("#sequence g.event", (groups) =>
      groups.map((g) => ({
        key: g.dataset.routingKey,
        compensation: g.dataset.compensation === "true",
        arrows: g.querySelectorAll("line.arrow").length,
        badge: g.querySelector("text.badge")?.textContent ?? null,
        colour: getComputedStyle(g.querySelector("circle")).fill,
      })),
    );
    same(events.map((e) => e.key), expected.routing_keys, `events of ${id}`);
    const lifelines = await page.$$eval("#sequence g.lifeline", (groups) => groups.map((g) => g.dataset.service));
    same(lifelines, expected.services, `lifelines of ${id}`);
    const submit = events[0];
    check(submit.key === "order.v2.submit" && submit.arrows === 2, `the submit should reach billing and logistics: ${JSON.stringify(submit)}`);

    const marked = events.filter((e) => e.compensation);
    check(marked.length === expected.compensations, `${id}: ${marked.length} compensations drawn, ${expected.compensations} expected`);
    for (const event of marked) {
      check(event.badge === "compensation", `${event.key} lacks its compensation label`);
      check(event.colour !== submit.colour, `${event.key} is drawn in the colour of ordinary events`);
    }
    const rows = await page.$$eval("#events tbody tr", (rows) => rows.length);
    check(rows === expected.routing_keys.length, `the table lists ${rows} events`);

    const file = join(screenshots, `tracker-${id}.png`);
    await page.screenshot({ path: file, fullPage: true });
    console.log(`order ${id}: ${events.length} events, ${marked.length} compensations drawn; screenshot ${file}`);
  }
  check(failures.length === 0, failures.join("\n"));
  console.log(`browser test passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
});
