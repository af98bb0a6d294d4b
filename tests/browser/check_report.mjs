#!/usr/bin/env node
// Opens a local, self-contained HTML report in headless Debian Chromium (via
// playwright-core, offline) and prints one JSON object on stdout:
//
//   {"console":     [{"type": "error"|"warning", "text": "..."}],
//    "page_errors": ["Error: ..."],           // uncaught exceptions
//    "requests":    ["http://...", ...],      // every URL the page asked for
//                                             // that is not file:/data:/about:,
//                                             // plus file: URLs other than the page
//    "title":       "document.title",
//    "rects":       [{"chain", "status", "start", "end"}],  // see readRects()
//    "screenshot":  "/abs/path.png"}          // full-page PNG
//
// Usage (from a Rust integration test, after scripts/install-browser.sh):
//
//   node tests/browser/check_report.mjs <report.html> <screenshot.png>
//
// e.g. Command::new("node").args(["tests/browser/check_report.mjs", html, png])
// then serde_json::from_slice(&output.stdout). Exit 0 if the page loaded (the
// JSON may still list errors: the test decides), 1 with a message on stderr
// if it did not, 2 on bad usage. Nothing is blocked: requests are observed,
// and on this offline machine any real network request simply fails.
// CHROMIUM=/path overrides the browser (default /usr/bin/chromium).

import { chromium } from "playwright-core";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const TIMEOUT_MS = 30_000; // launch, navigation and screenshot, each
const WATCHDOG_MS = 90_000; // whole run, whatever hangs
const LOCAL_SCHEMES = new Set(["file:", "data:", "about:"]);
// Chromium must not phone home (Google hosts are unreachable here).
const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
  "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync",
];

let profile; // temp --user-data-dir, removed on every exit path

function fail(message, code = 1) {
  process.stderr.write(`check_report: ${message}\n`);
  if (profile) rmSync(profile, { recursive: true, force: true });
  process.exit(code);
}

class Failure extends Error {} // expected failure: message only, no stack

// Every <rect data-status> inside each <svg class="timeline" data-chain>.
// Descendants, not only direct children, so a <g> wrapper does not hide them.
function readRects() {
  const out = [];
  for (const svg of document.querySelectorAll("svg.timeline")) {
    for (const rect of svg.querySelectorAll("rect[data-status]")) {
      if (rect.closest("svg.timeline") !== svg) continue; // nested timeline
      out.push({
        chain: svg.getAttribute("data-chain"),
        status: rect.getAttribute("data-status"),
        start: rect.getAttribute("data-start"),
        end: rect.getAttribute("data-end"),
      });
    }
  }
  return out;
}

async function main() {
  const [htmlArg, pngArg] = process.argv.slice(2);
  if (!htmlArg || !pngArg) fail("usage: check_report.mjs <report.html> <screenshot.png>", 2);
  const htmlPath = resolve(htmlArg);
  const pngPath = resolve(pngArg);
  if (!existsSync(htmlPath)) throw new Failure(`no such file: ${htmlPath}`);
  const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
  if (!existsSync(executablePath)) {
    throw new Failure(`${executablePath} not found: run scripts/install-browser.sh`);
  }
  const pageUrl = pathToFileURL(htmlPath).href;

  const result = { console: [], page_errors: [], requests: [], title: null, rects: [], screenshot: pngPath };
  const noteRequest = (url) => {
    let parsed;
    try { parsed = new URL(url); } catch { result.requests.push(url); return; }
    parsed.hash = "";
    if (parsed.href === pageUrl) return; // the report itself
    if (LOCAL_SCHEMES.has(parsed.protocol) && parsed.protocol !== "file:") return;
    result.requests.push(url);
  };

  profile = mkdtempSync(join(tmpdir(), "trailproof-chromium-"));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: TIMEOUT_MS,
      viewport: { width: 1280, height: 800 },
    });
    // Context-wide, so workers and frames are seen too.
    context.on("request", (req) => noteRequest(req.url()));
    const page = context.pages()[0] ?? (await context.newPage());
    page.on("websocket", (ws) => noteRequest(ws.url()));
    page.on("console", (msg) => {
      if (msg.type() === "error" || msg.type() === "warning") {
        result.console.push({ type: msg.type(), text: msg.text() });
      }
    });
    page.on("pageerror", (err) => result.page_errors.push(`${err.name}: ${err.message}`));

    try {
      await page.goto(pageUrl, { waitUntil: "load", timeout: TIMEOUT_MS });
    } catch (err) {
      throw new Failure(`page did not load: ${err.message.split("\n")[0]}`);
    }
    // Give late requests (timers, fetches) a moment; a hanging one must not hang us.
    await page.waitForLoadState("networkidle", { timeout: 5_000 }).catch(() => {});

    result.title = await page.title();
    result.rects = await page.evaluate(readRects);
    mkdirSync(dirname(pngPath), { recursive: true });
    await page.screenshot({ path: pngPath, fullPage: true, timeout: TIMEOUT_MS });
  } finally {
    await context?.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
    profile = undefined;
  }
  process.stdout.write(JSON.stringify(result, null, 2) + "\n");
}

setTimeout(() => fail(`gave up after ${WATCHDOG_MS / 1000} s`), WATCHDOG_MS).unref();
main().then(
  () => process.exit(0),
  (err) => fail(err instanceof Failure ? err.message : err?.stack ?? String(err)),
);
