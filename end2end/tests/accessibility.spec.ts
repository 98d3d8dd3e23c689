import { expect, test } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";
import { closeDatabase, createAccount, LoginPage, PASSWORD, sessionsOf, signedInDevice, uniqueEmail , onSecurityPage } from "./fixtures";

test.afterAll(closeDatabase);

test("sign in with the keyboard alone", async ({ page }) => {
  const email = uniqueEmail();
  await createAccount(test.info().project.use.baseURL!, email);
  const login = new LoginPage(page);
  await login.goto();
  await page.getByLabel("Email").focus();
  await page.keyboard.type(email);
  await page.keyboard.press("Tab");
  await expect(page.getByLabel("Password")).toBeFocused();
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press("Enter");
  await page.waitForURL(onSecurityPage);
  expect(await sessionsOf(email)).toHaveLength(2);
});

test("focus moves to the field with the error", async ({ page }) => {
  await page.goto("/register");
  await new LoginPage(page).waitForHydration();
  await page.getByLabel("Email").fill(uniqueEmail());
  await page.getByLabel("Password").fill("short77");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.locator("#field-password-error")).toHaveText("Use at least 8 characters for your password.");
  await expect(page.getByLabel("Password")).toBeFocused();
});

test("no horizontal scrolling at 360 px", async ({ browser }) => {
  const email = uniqueEmail();
  await createAccount(test.info().project.use.baseURL!, email);
  const other = await signedInDevice(browser, "firefox", email);
  const phone = await browser.newContext({ viewport: { width: 360, height: 740 } });
  const page = await phone.newPage();
  for (const path of ["/", "/login", "/register"]) {
    await page.goto(path);
    expect(await page.evaluate(() => document.documentElement.scrollWidth), path).toBeLessThanOrEqual(360);
  }
  const login = new LoginPage(page);
  await login.goto();
  await login.signIn(email);
  await page.waitForURL(onSecurityPage);
  await page.goto("/account/security?confirm=everywhere");
  await expect(page.getByTestId("session-row")).toHaveCount(3);
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
  await page.goto("/account/activity");
  await expect(page.getByTestId("security-events").locator("li").first()).toBeVisible();
  expect(await page.evaluate(() => document.documentElement.scrollWidth), "/account/activity").toBeLessThanOrEqual(360);
  await other.context.close();
  await phone.close();
});

test("axe finds no violations on any page, at 1280 and 360 px, light and dark", async ({ browser }) => {
  // 28 page states, each analysed in full.
  test.setTimeout(180_000);
  const email = uniqueEmail();
  await createAccount(test.info().project.use.baseURL!, email);
  const other = await signedInDevice(browser, "firefox", email);
  for (const viewport of [{ width: 1280, height: 800 }, { width: 360, height: 740 }]) {
    for (const colorScheme of ["light", "dark"] as const) {
      const context = await browser.newContext({ viewport, colorScheme });
      const page = await context.newPage();
      const states: [string, () => Promise<void>][] = [
        ["home, signed out", () => page.goto("/").then(() => undefined)],
        ["sign-in", () => page.goto("/login").then(() => undefined)],
        ["registration", () => page.goto("/register").then(() => undefined)],
        ["not found", () => page.goto("/no-such-page").then(() => undefined)],
        [
          "security, signed in",
          async () => {
            const login = new LoginPage(page);
            await login.goto("?next=/account/security");
            await login.signIn(email);
            await page.waitForURL(onSecurityPage);
          },
        ],
        ["activity", () => page.goto("/account/activity").then(() => undefined)],
        ["home, signed in", () => page.goto("/").then(() => undefined)],
      ];
      for (const [name, open] of states) {
        await open();
        const results = await new AxeBuilder({ page }).analyze();
        expect(results.violations, `${name} at ${viewport.width} px, ${colorScheme}`).toEqual([]);
      }
      await context.close();
    }
  }
  await other.context.close();
});
