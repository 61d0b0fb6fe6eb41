// Open an aidc HTML report in Debian's headless Chromium (driven by playwright-core, no
// browser download), with the network cut off, and print one JSON object:
// console errors, charts expected / rendered / with drawn traces, render time, screenshot.
//
//   node tests/browser/check_report.mjs REPORT.html SCREENSHOT.png [WIDTH]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const [html, shot, width = "1400"] = process.argv.slice(2);
if (!html || !shot) {
  console.error("usage: check_report.mjs REPORT.html SCREENSHOT.png [WIDTH]");
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const profile = mkdtempSync(join(tmpdir(), "aidc-chromium-"));
const result = { console_errors: [], page_errors: [], blocked_requests: [] };
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath,
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
    viewport: { width: Number(width), height: 900 },
  });
  const page = context.pages()[0] || (await context.newPage());
  page.on("console", (msg) => {
    if (msg.type() === "error") result.console_errors.push(msg.text());
  });
  page.on("pageerror", (err) => result.page_errors.push(String(err)));
  // The report must be self-contained: any request that is not the file itself fails.
  await page.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith("file:") || url.startsWith("data:") || url.startsWith("blob:")) return route.continue();
    result.blocked_requests.push(url);
    return route.abort();
  });
  const t0 = Date.now();
  await page.goto(pathToFileURL(resolve(html)).href, { waitUntil: "load" });
  await page.waitForSelector("body[data-charts-rendered]", { timeout: 20000 });
  result.wall_ms_to_rendered = Date.now() - t0;
  Object.assign(
    result,
    await page.evaluate(() => {
      const charts = [...document.querySelectorAll(".chart[data-chart-index]")];
      const drawn = charts.filter((el) => {
        const svg = el.querySelector(".main-svg");
        const box = el.getBoundingClientRect();
        const traces = el.querySelectorAll(".scatterlayer .trace, .barlayer .trace").length;
        return svg && box.width > 100 && box.height > 100 && traces > 0;
      });
      return {
        title: document.title,
        scenario_text: document.getElementById("scenario-name")?.textContent ?? null,
        charts_expected: Number(document.body.dataset.chartsExpected),
        charts_rendered: Number(document.body.dataset.chartsRendered),
        charts_failed: Number(document.body.dataset.chartsFailed),
        charts_with_traces: drawn.length,
        charts_without_traces: charts.filter((el) => !drawn.includes(el)).map((el) => el.closest("figure").dataset.figureId),
        figures: document.querySelectorAll("figure[data-figure-id]").length,
        unavailable: [...document.querySelectorAll(".chart[data-unavailable]")].map((el) => el.closest("figure").dataset.figureId),
        render_ms: window.aidcRenderMs,
        injected_script_ran: window.__aidc_xss === true,
        script_elements: document.querySelectorAll("script").length,
      };
    }),
  );
  await page.screenshot({ path: shot, fullPage: true });
  result.screenshot = shot;
} catch (err) {
  result.fatal = String(err && err.stack ? err.stack : err);
} finally {
  if (context) await context.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(result));
process.exit(result.fatal ? 1 : 0);
