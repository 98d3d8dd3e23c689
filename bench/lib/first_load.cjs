// Time until a signed-in page is interactive on a slow phone connection, cold.
//
//   node bench/lib/first_load.cjs URL COOKIE_NAME=VALUE RUNS LATENCY_MS DOWN_KBIT UP_KBIT
//
// Each run opens a fresh browser context (empty cache), throttles it through the Chrome DevTools
// Protocol, loads URL with the session cookie, and waits for <body data-live="connected">: the
// page is hydrated and its live sign-out stream is open. Prints one JSON object: the times in
// ms, their median, and the bytes that crossed the wire per load (compressed, as sent).
"use strict";
const path = require("path");
const { chromium } = require(require.resolve("@playwright/test", { paths: [path.join(__dirname, "../../end2end")] }));

async function main() {
  const [url, cookie, runs, latency, downKbit, upKbit] = process.argv.slice(2);
  if (!url || !cookie) {
    console.error("usage: first_load.cjs URL COOKIE_NAME=VALUE RUNS LATENCY_MS DOWN_KBIT UP_KBIT");
    process.exit(2);
  }
  const [name, value] = cookie.split(/=(.*)/s);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking"],
  });
  const times = [];
  const bytes = [];
  try {
    for (let i = 0; i < Number(runs ?? 5); i++) {
      const context = await browser.newContext();
      // The site root: a cookie set for the page's URL would have the path /account/ and miss /api.
      await context.addCookies([{ name, value, url: new URL("/", url).href }]);
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      await cdp.send("Network.enable");
      await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
      await cdp.send("Network.emulateNetworkConditions", {
        offline: false,
        latency: Number(latency ?? 150),
        downloadThroughput: (Number(downKbit ?? 1600) * 1000) / 8,
        uploadThroughput: (Number(upKbit ?? 750) * 1000) / 8,
      });
      let received = 0;
      cdp.on("Network.loadingFinished", (event) => (received += event.encodedDataLength));
      const errors = [];
      page.on("console", (message) => message.type() === "error" && errors.push(message.text()));
      page.on("pageerror", (error) => errors.push(String(error)));
      const started = Date.now();
      await page.goto(url, { waitUntil: "commit" });
      try {
        await page.waitForSelector('body[data-live="connected"]', { state: "attached", timeout: 60_000 });
      } catch (error) {
        const body = await page.evaluate(() => ({ live: document.body?.dataset.live, hydrated: document.body?.dataset.hydrated, title: document.title }));
        throw new Error(`${page.url()} never became live: ${JSON.stringify(body)}; browser errors: ${JSON.stringify(errors)}`);
      }
      times.push(Date.now() - started);
      bytes.push(received);
      await context.close();
    }
  } finally {
    await browser.close();
  }
  const sorted = [...times].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  console.log(JSON.stringify({ times_ms: times, median_ms: median, bytes }));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
