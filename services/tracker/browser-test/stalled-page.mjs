// Drives the tracker's page in Debian's headless Chromium and checks that it marks a stalled
// order.
//
//   node stalled-page.mjs <page url> <order id> <screenshot folder>
//
// with TRACKER_TOKEN, a staff token, in the environment: it signs in with it first, through the
// page's sign-in box.
//
// The order must be stalled (the order service lists it in GET /orders?stalled=true). The page
// must list it among the stalled orders, tag it among the recent ones, and, once it is chosen,
// say above its diagram that it is stalled and what to do. Exits non-zero, with the reason, on
// the first failure.
import { join } from "node:path";
import { check, fromEnv, signIn, withPage } from "./session.mjs";

const [url, orderId, screenshots] = process.argv.slice(2);
if (!url || !orderId || !screenshots) {
  console.error("usage: node stalled-page.mjs <page url> <order id> <screenshot folder>");
  process.exit(2);
}
const token = fromEnv("TRACKER_TOKEN");
/// The page reads /stalled every few seconds.
const PATIENCE_MS = 30_000;

await withPage(url, screenshots, "tracker-stalled", async (page, failures) => {
  await page.goto(url, { waitUntil: "load" });
  await signIn(page, token);
  const listed = await page.waitForSelector(`#stalled-orders a[data-order-id="${orderId}"]`, { timeout: PATIENCE_MS });
  const listedTag = await listed.evaluate((link) => link.parentElement.querySelector(".tag.stalled")?.textContent ?? "");
  check(listedTag.startsWith("stalled: confirmed since"), `the stalled list says ${JSON.stringify(listedTag)}`);
  const status = await page.textContent("#stalled-status");
  check(status.startsWith("1 past the deadline"), `the stalled orders' status says ${JSON.stringify(status)}`);

  const recent = await page.waitForSelector(`#recent-flows li.stalled a[data-order-id="${orderId}"]`, { timeout: PATIENCE_MS });
  const recentTag = await recent.evaluate((link) => link.parentElement.querySelector(".tag.stalled")?.textContent ?? "");
  check(recentTag === "stalled: confirmed, not shipped", `the recent order is tagged ${JSON.stringify(recentTag)}`);

  await recent.click();
  await page.waitForFunction(() => !document.getElementById("flow-stalled").hidden, undefined, { timeout: PATIENCE_MS });
  const note = await page.textContent("#flow-stalled");
  check(note.includes("stalled: confirmed since") && note.includes("shopctl dead replay"), `the note above the diagram says ${JSON.stringify(note)}`);

  const file = join(screenshots, `tracker-stalled-${orderId}.png`);
  await page.screenshot({ path: file, fullPage: true });
  check(failures.length === 0, failures.join("\n"));
  console.log(`stalled order ${orderId} marked: ${note}; screenshot ${file}`);
});
