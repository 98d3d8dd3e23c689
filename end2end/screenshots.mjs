// Takes the README screenshots: the sign-in page and the security page with several
// sessions, in light and dark. Run through scripts/screenshots, which starts the app.
import { chromium } from "@playwright/test";

const baseURL = process.env.BASE_URL ?? "http://127.0.0.1:3000";
const out = new URL("./screenshots/", import.meta.url).pathname;
const password = "correct horse battery";
const email = `ada-${Date.now()}@example.com`;
const agents = [
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15",
];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});

async function signIn(context) {
  const page = await context.newPage();
  await page.goto(`${baseURL}/login`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((url) => url.pathname === "/account/security");
  return page;
}

const register = await fetch(`${baseURL}/api/register`, {
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json", origin: baseURL },
  body: new URLSearchParams({ email, password }),
});
if (!register.ok) throw new Error(`registering the demo user failed: ${register.status}`);
for (const userAgent of agents) await signIn(await browser.newContext({ userAgent }));

for (const colorScheme of ["light", "dark"]) {
  const context = await browser.newContext({ colorScheme, viewport: { width: 1000, height: 760 } });
  const page = await context.newPage();
  await page.goto(`${baseURL}/login`);
  await page.screenshot({ path: `${out}login-${colorScheme}.png` });
  await signIn(context);
  await page.close();
  const security = context.pages()[0];
  await security.reload();
  await security.screenshot({ path: `${out}security-${colorScheme}.png`, fullPage: true });
  console.log(`saved ${colorScheme} screenshots in ${out}`);
}
await browser.close();
