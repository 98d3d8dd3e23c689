// Takes the screenshots in end2end/screenshots/: for the README, the sign-in page and the
// security page with several sessions at 1000 px; and every page on a 360×740 phone
// (`phone-<page>-<scheme>.png`), in light and dark. Run through scripts/screenshots, which
// starts the app.
import { chromium } from "@playwright/test";

const baseURL = process.env.BASE_URL ?? "http://127.0.0.1:3000";
const out = new URL("./screenshots/", import.meta.url).pathname;
const password = "correct horse battery";
// Long enough to show how the header fits a real address on a phone.
const email = `ada.lovelace-${Date.now()}@example.com`;
const agents = [
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15",
];
const phoneAgent =
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});

/** Waits until the page has hydrated (and, when signed in, opened its live stream), so the shot shows the finished page. */
async function settled(page) {
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.waitForLoadState("networkidle").catch(() => {});
}

async function signIn(context) {
  const page = await context.newPage();
  await page.goto(`${baseURL}/login`);
  await settled(page);
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
  await settled(page);
  await page.screenshot({ path: `${out}login-${colorScheme}.png` });
  await signIn(context);
  await page.close();
  const security = context.pages()[0];
  await security.reload();
  await settled(security);
  await security.screenshot({ path: `${out}security-${colorScheme}.png`, fullPage: true });
  await context.close();
  console.log(`saved the ${colorScheme} README screenshots in ${out}`);
}

// Every page on a phone. Long pages are taken whole, so the shot shows what scrolling shows.
for (const colorScheme of ["light", "dark"]) {
  const context = await browser.newContext({
    colorScheme,
    viewport: { width: 360, height: 740 },
    deviceScaleFactor: 1,
    isMobile: true,
    hasTouch: true,
    userAgent: phoneAgent,
  });
  const page = await context.newPage();
  const shoot = async (name, path, act) => {
    if (path) await page.goto(`${baseURL}${path}`);
    await settled(page);
    if (act) await act();
    await page.screenshot({ path: `${out}phone-${name}-${colorScheme}.png`, fullPage: true });
  };
  await shoot("home", "/");
  await shoot("register", "/register");
  await shoot("register-error", "/register", async () => {
    await page.getByLabel("Email").fill(`grace-${colorScheme}@example.com`);
    await page.getByLabel("Password").fill("short77");
    await page.getByRole("button", { name: "Create account" }).click();
    await page.locator("#field-password-error").waitFor();
  });
  await shoot("not-found", "/no-such-page");
  await shoot("login", "/login");
  await shoot("login-error", "/login", async () => {
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill("not the password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByTestId("notice").filter({ hasText: "do not match" }).waitFor();
    await page.getByLabel("Password").blur();
  });
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((url) => url.pathname === "/account/security");
  await shoot("security", null, () => page.waitForSelector('body[data-live="connected"]'));
  await shoot("security-log-out-everywhere", "/account/security?confirm=everywhere");
  await shoot("security-delete-account", "/account/security?confirm=delete");
  await shoot("activity", "/account/activity");
  await shoot("home-signed-in", "/");
  await context.close();
  console.log(`saved the ${colorScheme} phone screenshots in ${out}`);
}
await browser.close();
