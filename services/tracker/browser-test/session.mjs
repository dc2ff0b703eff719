// What every browser test of the tracker's page shares: Debian's headless Chromium in a profile
// of its own (with the flags that keep it off the network: this machine's is closed), a page
// that notes its script errors and any request to another host than the tracker's, a
// screenshot when the test fails, and the cleanup.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

/// Fails the test with `message` unless `condition` holds.
export function check(condition, message) {
  if (!condition) throw new Error(message);
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
