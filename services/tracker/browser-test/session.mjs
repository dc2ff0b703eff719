// What every browser test of the tracker's page shares: Debian's headless Chromium in a profile
// of its own (with the flags that keep it off the network: this machine's is closed), a page
// that notes its script errors, any request to another host than the tracker's, and any call of
// the tracker's APIs without a bearer token or with a cookie, a screenshot when the test fails,
// and the cleanup; and signing in through the page's sign-in box, as a person does.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

/// Fails the test with `message` unless `condition` holds.
export function check(condition, message) {
  if (!condition) throw new Error(message);
}

/// How long the page may take to judge a token.
const SIGN_IN_PATIENCE_MS = 30_000;

/// The tracker's APIs with data (all staff only), by path.
export function isApi(path) {
  return /^\/(flows|topology|stalled|dead-letters)(\/|$)/.test(path);
}

/// The environment variable `name` (a token the Rust test passes: not an argument, which any
/// process list shows); exits with a usage error when it is missing.
export function fromEnv(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is not set: the Rust test passes the tokens to sign in with`);
    process.exit(2);
  }
  return value;
}

/// Signs in on the page's sign-in box with `token`, as a person does (paste it, press Sign in),
/// and waits until the page is in the `expected` state (`signed-in`, or `refused`). The page
/// tries the token with one API call; its answer is awaited first, so that a page already
/// `refused` is seen judging the new token, not its previous one.
export async function signIn(page, token, expected = "signed-in") {
  await page.waitForSelector("#sign-in-form", { state: "visible", timeout: SIGN_IN_PATIENCE_MS });
  await page.fill("#token", token);
  const judged = page.waitForResponse((response) => isApi(new URL(response.url()).pathname), {
    timeout: SIGN_IN_PATIENCE_MS,
  });
  await page.click("#sign-in-submit");
  await judged;
  await page.waitForFunction((state) => document.body.dataset.auth === state, expected, {
    timeout: SIGN_IN_PATIENCE_MS,
  });
}

/// Runs `test(page, failures)` on a fresh page of the tracker at `url`. `failures` collects the
/// page's errors and foreign requests: a test checks it is empty once it has seen what it
/// expects. On a failure, a screenshot named `<name>-failure.png` goes to `screenshots` and the
/// process exits non-zero.
export async function withPage(url, screenshots, name, test) {
  const profile = mkdtempSync(join(tmpdir(), "tracker-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1280, height: 900 },
  });
  let page;
  try {
    page = context.pages()[0] ?? (await context.newPage());
    const failures = [];
    page.on("pageerror", (error) => failures.push(`page error: ${error.message}`));
    page.on("request", (request) => {
      if (!request.url().startsWith(new URL(url).origin) && !request.url().startsWith("data:")) {
        failures.push(`request to another host: ${request.url()}`);
      }
      if (!isApi(new URL(request.url()).pathname)) return;
      // The page's calls carry the token in the header, and nothing is ever sent as a cookie.
      request.allHeaders().then((headers) => {
        if (!/^Bearer \S+$/.test(headers.authorization ?? "")) {
          failures.push(`${request.method()} ${request.url()} without a bearer token`);
        }
        if (headers.cookie !== undefined) failures.push(`${request.method()} ${request.url()} sent a cookie`);
      }, () => {});
    });
    await test(page, failures);
  } catch (error) {
    if (page) {
      const file = join(screenshots, `${name}-failure.png`);
      await page.screenshot({ path: file, fullPage: true }).catch(() => {});
      console.error(`screenshot of the failure: ${file}`);
    }
    console.error(error.stack || String(error));
    process.exitCode = 1;
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}
