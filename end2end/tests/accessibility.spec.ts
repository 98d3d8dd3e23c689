import { expect, test } from "@playwright/test";
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
