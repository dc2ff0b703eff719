// Drives the tracker's page in Debian's headless Chromium: its Dead letters panel must list a
// dead letter with its reason, and its Replay button must replay it, after which the panel no
// longer lists it.
//
//   node dead-letters-page.mjs <page url> <queue> <message id> <routing key> <reason> <screenshot folder>
//
// with TRACKER_TOKEN, a staff token, in the environment: it signs in with it first, through the
// page's sign-in box.
//
// The dead letter must be the only one of its group in <queue> (`order.queue.dead`). Exits non-zero,
// with the reason, on the first failure.
import { join } from "node:path";
import { check, fromEnv, signIn, withPage } from "./session.mjs";

const [url, queue, messageId, routingKey, reason, screenshots] = process.argv.slice(2);
if (!url || !queue || !messageId || !routingKey || !reason || !screenshots) {
  console.error(
    "usage: node dead-letters-page.mjs <page url> <queue> <message id> <routing key> <reason> <screenshot folder>",
  );
  process.exit(2);
}
const token = fromEnv("TRACKER_TOKEN");
/// How long the page may take to show what is expected.
const PATIENCE_MS = 30_000;

await withPage(url, screenshots, "tracker-dead-letters", async (page, failures) => {
  await page.goto(url, { waitUntil: "load" });
  await signIn(page, token);
  const groupSelector = `#dead-letters tr.dead-group[data-queue="${queue}"][data-routing-key="${routingKey}"]`;
  const group = await page.waitForSelector(groupSelector, { timeout: PATIENCE_MS });
  const shown = await group.evaluate((row) => ({
    reason: row.querySelector("td.reason")?.textContent ?? "",
    count: row.children[2]?.textContent ?? "",
    ids: row.dataset.messageIds.split(","),
    title: row.closest(".dead-queue")?.querySelector("h3")?.textContent ?? "",
  }));
  check(shown.reason === reason, `the group's reason is ${JSON.stringify(shown.reason)}, not ${JSON.stringify(reason)}`);
  check(shown.count === "1", `the group counts ${JSON.stringify(shown.count)}`);
  check(shown.ids.length === 1 && shown.ids[0] === messageId, `the group's ids are ${JSON.stringify(shown.ids)}`);
  check(shown.title.startsWith(`${queue} → `), `the queue's title is ${JSON.stringify(shown.title)}`);
  // The message is listed under its group with a Replay button of its own.
  const message = await page.$(`#dead-letters tr.dead-messages li[data-message-id="${messageId}"] button.replay-message`);
  check(message !== null, `message ${messageId} has no Replay button of its own`);
  const before = join(screenshots, "tracker-dead-letters-before.png");
  await page.screenshot({ path: before, fullPage: true });

  await (await group.$("button.replay-group")).click();
  await page.waitForSelector(groupSelector, { state: "detached", timeout: PATIENCE_MS });
  await page.waitForFunction(
    () => document.getElementById("dead-letters-status").textContent.startsWith("Replayed 1 "),
    undefined,
    { timeout: PATIENCE_MS },
  );
  const status = await page.textContent("#dead-letters-status");
  check(!(await page.textContent("#dead-letters")).includes(messageId), `the panel still names ${messageId}`);

  const after = join(screenshots, "tracker-dead-letters-after.png");
  await page.screenshot({ path: after, fullPage: true });
  check(failures.length === 0, failures.join("\n"));
  console.log(`dead letter ${messageId} listed in ${queue} and replayed: ${status}; screenshots ${before}, ${after}`);
});
