import { expect, test } from "@playwright/test";
import { closeDatabase, createAccount, database, DEVICES, LoginPage, PASSWORD, sessionsOf, signedInDevice, uniqueEmail } from "./fixtures";

test.afterAll(closeDatabase);

test("without JavaScript: sign in, revoke, sign out others, log out everywhere, log out", async ({ browser }) => {
  const email = uniqueEmail();
  await createAccount(test.info().project.use.baseURL!, email);
  const a = await signedInDevice(browser, "laptop", email, false);
  const b = await signedInDevice(browser, "firefox", email, false);
  const c = await signedInDevice(browser, "phone", email, false);
  expect(await sessionsOf(email)).toHaveLength(4);

  await a.security.goto();
  await expect(a.security.rows()).toHaveCount(4);
  await expect(a.security.currentRows()).toHaveCount(1);

  await a.security.revoke("firefox");
  await expect(a.page).toHaveURL(/notice=revoked/);
  await expect(a.security.notice()).toHaveText("Signed out that session.");
  expect((await sessionsOf(email)).map((s) => s.user_agent)).not.toContain(DEVICES.firefox.userAgent);
  await b.page.goto("/account/security");
  await expect(b.page).toHaveURL(/\/login\?notice=ended/);
  await expect(b.page.getByTestId("notice")).toHaveText("Your session ended. Please sign in again.");

  await a.security.signOutOthers();
  await expect(a.security.notice()).toHaveText("Signed out 2 other sessions.");
  expect(await sessionsOf(email)).toHaveLength(1);

  await a.security.logOutEverywhere();
  await expect(a.page).toHaveURL(/\/login\?notice=everywhere/);
  expect(await sessionsOf(email)).toHaveLength(0);
  await c.page.goto("/account/security");
  await expect(c.page).toHaveURL(/\/login/);

  // Plain logout from the header, and a wrong password, still without JavaScript.
  const login = new LoginPage(a.page, false);
  await login.goto();
  await login.signIn(email, "not the password");
  await expect(login.notice()).toHaveText("That email and password do not match an account.");
  await login.signIn(email);
  await expect(a.page).toHaveURL(/\/account\/security/);
  await a.page.getByRole("banner").getByRole("button", { name: "Log out" }).click();
  await expect(a.page).toHaveURL(/\/login\?notice=signed_out/);
  expect(await sessionsOf(email)).toHaveLength(0);
  expect((await a.context.cookies()).filter((x) => x.name.includes("sessionguard"))).toEqual([]);
  await a.page.goBack();
  await expect(a.page).toHaveURL(/\/login/);
  await expect(a.page.getByText(email)).toHaveCount(0);

  for (const d of [a, b, c]) await d.context.close();
});

test("without JavaScript: a field error is shown next to its field", async ({ browser }) => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/register");
  await page.getByLabel("Email").fill(uniqueEmail());
  await page.getByLabel("Password").fill("short77");
  await page.getByRole("button", { name: "Create account" }).click();
  const password = page.getByLabel("Password");
  await expect(password).toHaveAttribute("aria-invalid", "true");
  await expect(page.locator("#field-password-error")).toHaveText("Use at least 8 characters for your password.");
  await context.close();
});

/** Whether `url` names `email` anywhere, plainly or encoded. */
function namesEmail(url: string, email: string): boolean {
  const user = email.slice(0, email.indexOf("@"));
  return [email, encodeURIComponent(email), user].some((form) => url.includes(form));
}

test("without JavaScript: a failed sign-in or registration keeps the email, never the password", async ({ browser }) => {
  const email = uniqueEmail();
  await createAccount(test.info().project.use.baseURL!, email);
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();

  const login = new LoginPage(page, false);
  await login.goto("?next=/account/security");
  await login.signIn(email, "not the password");
  await expect(login.notice()).toHaveText("That email and password do not match an account.");
  await expect(page.getByLabel("Email")).toHaveValue(email);
  await expect(page.getByLabel("Password")).toHaveValue("");
  expect(page.url()).not.toContain("not%20the%20password");
  expect(page.url()).not.toContain("not+the+password");
  // The email came back in a cookie, not in the URL (history and access logs keep URLs), and
  // only once: the page cleared it, so a reload shows an empty field.
  expect(namesEmail(page.url(), email), page.url()).toBe(false);
  expect((await context.cookies()).filter((c) => c.name.includes("email"))).toEqual([]);
  await page.reload();
  await expect(login.notice()).toHaveText("That email and password do not match an account.");
  await expect(page.getByLabel("Email")).toHaveValue("");
  await page.getByLabel("Email").fill(email);
  // The next path survives the round trip, so signing in now still lands where it should.
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/account\/security/);
  expect(await sessionsOf(email)).toHaveLength(2);
  await context.close();

  const fresh = await browser.newContext({ javaScriptEnabled: false });
  const register = await fresh.newPage();
  const newEmail = uniqueEmail();
  await register.goto("/register");
  await register.getByLabel("Email").fill(newEmail);
  await register.getByLabel("Password").fill("short77");
  await register.getByRole("button", { name: "Create account" }).click();
  await expect(register.locator("#field-password-error")).toHaveText("Use at least 8 characters for your password.");
  await expect(register.getByLabel("Email")).toHaveValue(newEmail);
  await expect(register.getByLabel("Password")).toHaveValue("");
  expect(namesEmail(register.url(), newEmail), register.url()).toBe(false);
  await register.reload();
  await expect(register.getByLabel("Email")).toHaveValue("");
  await fresh.close();
});

test("without JavaScript: the account can be deleted after confirming with the password", async ({ browser }) => {
  const email = uniqueEmail();
  await createAccount(test.info().project.use.baseURL!, email);
  const a = await signedInDevice(browser, "laptop", email, false);
  await a.page.getByRole("link", { name: "Delete my account…" }).click();
  await expect(a.page).toHaveURL(/confirm=delete/);
  await a.page.getByRole("group", { name: "Delete your account?" }).getByLabel("Password").fill(PASSWORD);
  await a.page.getByRole("button", { name: "Yes, delete my account" }).click();
  await expect(a.page).toHaveURL(/\/login\?notice=deleted&count=2/);
  await expect(a.page.getByTestId("notice")).toHaveText("Your account was deleted, and 2 sessions ended with it.");
  expect(await sessionsOf(email)).toHaveLength(0);
  const db = await database();
  expect(await db.collection("users").countDocuments({ email })).toBe(0);
  await a.context.close();
});
