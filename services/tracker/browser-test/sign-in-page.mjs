// Drives the tracker's page in Debian's headless Chromium without a token and with the wrong
// ones: opened, it must ask for a staff token, show no data and call no API; a customer's token
// must be refused (403) and a forged one (401), each said so, forgotten, and asked for again,
// with no data shown; a staff token must sign in (naming the staff member, drawing the
// topology), be kept across a reload, and Sign out must forget it and clear what was drawn.
//
//   node sign-in-page.mjs <page url> <screenshot folder>
//
// with TRACKER_TOKEN (a staff token), TRACKER_STAFF_NAME (its subject) and
// TRACKER_CUSTOMER_TOKEN (a customer's token) in the environment. Exits non-zero, with the
// reason, on the first failure.
import { join } from "node:path";
import { check, fromEnv, isApi, signIn, withPage } from "./session.mjs";

const [url, screenshots] = process.argv.slice(2);
if (!url || !screenshots) {
  console.error("usage: node sign-in-page.mjs <page url> <screenshot folder>");
  process.exit(2);
}
const staffToken = fromEnv("TRACKER_TOKEN");
const staffName = fromEnv("TRACKER_STAFF_NAME");
const customerToken = fromEnv("TRACKER_CUSTOMER_TOKEN");
/// How long the page may take to show what is expected.
const PATIENCE_MS = 30_000;
/// Rounds of the page's refresh timers to await (`data-rounds`, one per panel and period): a
/// page that fetched on its timer while signed out would have done so within them.
const QUIET_ROUNDS = 10;

/// Waits until the page's timers have made `QUIET_ROUNDS` more rounds: two refresh periods.
async function quietRounds(page) {
  const from = await page.evaluate(() => Number(document.body.dataset.rounds || 0));
  await page.waitForFunction(
    (until) => Number(document.body.dataset.rounds || 0) >= until,
    from + QUIET_ROUNDS,
    { timeout: PATIENCE_MS },
  );
}

await withPage(url, screenshots, "tracker-sign-in", async (page, failures) => {
  /// Every answer of a tracker API the page received: path and status.
  const calls = [];
  page.on("response", (response) => {
    const path = new URL(response.url()).pathname;
    if (isApi(path)) calls.push({ path, status: response.status() });
  });
  const state = () => page.evaluate(() => document.body.dataset.auth);
  const kept = () => page.evaluate(() => sessionStorage.getItem("tracker.staff-token"));
  const succeeded = () => calls.filter((call) => call.status < 400);
  const shot = async (name) => {
    const file = join(screenshots, `tracker-sign-in-${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    return file;
  };

  // Opened without a token: the sign-in box, no data, not one call of an API.
  await page.goto(url, { waitUntil: "load" });
  await page.waitForSelector("#sign-in-form", { state: "visible", timeout: PATIENCE_MS });
  check((await state()) === "signed-out", `opened, the page is ${await state()}`);
  check(await page.isHidden("#signed-in"), "the data panels show while signed out");
  check(await page.isHidden("#sign-out"), "Sign out shows while signed out");
  const asked = await page.textContent("#sign-in-status");
  check(asked.includes("Signed out"), `the sign-in box says ${JSON.stringify(asked)}`);
  await quietRounds(page);
  check(calls.length === 0, `signed out, the page called ${JSON.stringify(calls)}`);
  const signedOut = await shot("signed-out");
  console.log(`signed out: the sign-in box, no API called in ${QUIET_ROUNDS} timer rounds`);

  // A customer's token: refused (403), said so, forgotten, asked for again; no data.
  await signIn(page, customerToken, "refused");
  const refused = await page.textContent("#sign-in-status");
  check(refused.includes("refused") && refused.includes("403"), `with a customer's token the page says ${JSON.stringify(refused)}`);
  check(await page.isVisible("#sign-in-form"), "refused, the page no longer asks for a token");
  check(await page.isHidden("#signed-in"), "refused, the data panels show");
  check((await kept()) === null, "the refused token is kept in sessionStorage");
  check((await page.inputValue("#token")) === "", "the refused token stays in the sign-in box");
  check(calls.length > 0 && calls.every((call) => call.status === 403), `a customer's calls: ${JSON.stringify(calls)}`);
  const refusedShot = await shot("refused");
  console.log(`customer token: ${refused}`);

  // A forged token: refused too (401).
  await signIn(page, "not.a.token", "refused");
  const forged = await page.textContent("#sign-in-status");
  check(forged.includes("refused") && forged.includes("401"), `with a forged token the page says ${JSON.stringify(forged)}`);
  check(succeeded().length === 0, `without a staff token some calls succeeded: ${JSON.stringify(succeeded())}`);

  // A staff token: signed in, named, the data drawn, the token kept for this tab.
  await signIn(page, staffToken);
  await page.waitForSelector("#topology g.exchange", { timeout: PATIENCE_MS });
  const name = await page.textContent("#session-name");
  check(name === staffName, `signed in as ${JSON.stringify(name)}, not ${JSON.stringify(staffName)}`);
  check(await page.isHidden("#sign-in-section"), "signed in, the sign-in box still shows");
  check((await kept()) === staffToken, "the staff token is not kept in sessionStorage");
  check((await page.inputValue("#token")) === "", "the token stays in the sign-in box");
  // Kept across a reload of the tab: no need to paste it again.
  await page.reload({ waitUntil: "load" });
  await page.waitForFunction(() => document.body.dataset.auth === "signed-in", undefined, { timeout: PATIENCE_MS });
  await page.waitForSelector("#topology g.exchange", { timeout: PATIENCE_MS });
  const signedIn = await shot("signed-in");

  // Sign out: the token forgotten, what was drawn cleared, no call any more.
  await page.click("#sign-out");
  check((await state()) === "signed-out", `after Sign out the page is ${await state()}`);
  check((await kept()) === null, "the token is still kept after Sign out");
  check(await page.isVisible("#sign-in-form"), "after Sign out the page does not ask for a token");
  const drawn = await page.$$eval("#topology *", (elements) => elements.length);
  check(drawn === 0, `after Sign out the topology still holds ${drawn} elements`);
  const before = calls.length;
  await quietRounds(page);
  check(calls.length === before, `signed out, the page called ${JSON.stringify(calls.slice(before))}`);

  check(failures.length === 0, failures.join("\n"));
  console.log(`sign-in checked; screenshots ${signedOut}, ${refusedShot}, ${signedIn}`);
});
