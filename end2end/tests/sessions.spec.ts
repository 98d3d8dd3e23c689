import { expect, test } from "@playwright/test";
import {
  closeDatabase,
  createAccount,
  database,
  DEVICES,
  LoginPage,
  newDevice,
  PASSWORD,
  SecurityPage,
  sessionsOf,
  signedInDevice,
  uniqueEmail,
  onSecurityPage,
} from "./fixtures";

test.afterAll(closeDatabase);

test("register, then sign in again on the same browser", async ({ browser }) => {
  const email = uniqueEmail();
  const context = await newDevice(browser, "laptop");
  const page = await context.newPage();
  await page.goto("/register");
  await new LoginPage(page).waitForHydration();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.waitForURL(onSecurityPage);
  const security = new SecurityPage(page);
  await expect(security.rows()).toHaveCount(1);
  await expect(page.getByTestId("signed-in-as")).toHaveText(email);
  expect(await sessionsOf(email)).toHaveLength(1);

  await page.getByRole("banner").getByRole("button", { name: "Log out" }).click();
  await page.waitForURL("**/login?notice=signed_out");
  await expect(page.getByTestId("notice")).toHaveText("You have been signed out.");
  expect(await sessionsOf(email)).toHaveLength(0);
  expect((await context.cookies()).filter((c) => c.name.includes("sessionguard"))).toEqual([]);

  // Back does not bring the account page back.
  await page.goBack();
  await page.waitForURL(/\/login/);
  await expect(page.getByText(email)).toHaveCount(0);

  const login = new LoginPage(page);
  await login.signIn(email);
  await page.waitForURL(onSecurityPage);
  const sessions = await sessionsOf(email);
  expect(sessions).toHaveLength(1);
  expect(sessions[0].user_agent).toBe(DEVICES.laptop.userAgent);
  await context.close();
});

test("the session token lives only in the HttpOnly cookie: no script and no web storage can read it", async ({ browser }) => {
  const email = uniqueEmail();
  await createAccount(test.info().project.use.baseURL!, email);
  const { context, page } = await signedInDevice(browser, "laptop", email);
  // Every page a signed-in user sees, hydrated and live, has had its chance to store something.
  for (const path of ["/", "/account/activity", "/account/security"]) {
    await page.goto(path);
    await new LoginPage(page).waitForHydration();
  }
  const cookie = (await context.cookies()).find((c) => c.name.includes("sessionguard"));
  expect(cookie, "the session cookie is set").toBeDefined();
  expect(cookie!.httpOnly).toBe(true);
  const seen = await page.evaluate(() => ({
    documentCookie: document.cookie,
    localStorage: Object.entries(window.localStorage),
    sessionStorage: Object.entries(window.sessionStorage),
  }));
  expect(seen.localStorage, "nothing in localStorage (ASVS 3.2.3)").toEqual([]);
  expect(seen.sessionStorage, "nothing in sessionStorage").toEqual([]);
  expect(seen.documentCookie, "scripts cannot read the session cookie").not.toContain(cookie!.value);
  await context.close();
});

test("a wrong password is refused with a message and no session", async ({ browser }) => {
  const email = uniqueEmail();
  await createAccount(test.info().project.use.baseURL!, email);
  const context = await newDevice(browser, "laptop");
  const page = await context.newPage();
  const login = new LoginPage(page);
  await login.goto();
  await login.signIn(email, "not the password");
  await expect(login.notice()).toHaveText("That email and password do not match an account.");
  await expect(page).toHaveURL(/\/login/);
  expect(await sessionsOf(email)).toHaveLength(1); // only the one createAccount made
  await context.close();
});

test("three devices: list, revoke one, sign out the others, log out everywhere", async ({ browser }) => {
  const email = uniqueEmail();
  await createAccount(test.info().project.use.baseURL!, email);
  const api = (await sessionsOf(email))[0];
  const a = await signedInDevice(browser, "laptop", email);
  const b = await signedInDevice(browser, "firefox", email);
  const c = await signedInDevice(browser, "phone", email);
  expect(await sessionsOf(email)).toHaveLength(4);

  await a.security.goto();
  await expect(a.security.rows()).toHaveCount(4);
  await expect(a.security.currentRows()).toHaveCount(1);
  await expect(a.security.currentRows()).toContainText(DEVICES.laptop.label);
  await expect(a.page.getByText("This device", { exact: true })).toHaveCount(1);
  await expect(a.security.rows().getByText(DEVICES.firefox.label, { exact: true })).toBeVisible();
  await expect(a.security.rows().getByText(DEVICES.phone.label, { exact: true })).toBeVisible();

  // Revoke B from A: B's document is gone at once, B's next navigation lands on /login.
  await a.security.revoke("firefox");
  await expect(a.security.notice()).toHaveText("Signed out that session.");
  await expect(a.security.rows()).toHaveCount(3);
  const afterRevoke = await sessionsOf(email);
  expect(afterRevoke.map((s) => s.user_agent)).not.toContain(DEVICES.firefox.userAgent);
  await b.page.goto("/account/security");
  await b.page.waitForURL(/\/login\?notice=ended/);
  await expect(b.page.getByTestId("notice")).toHaveText("Your session ended. Please sign in again.");

  // Sign out the others: only A remains.
  await a.security.signOutOthers();
  await expect(a.security.notice()).toHaveText("Signed out 2 other sessions.");
  await expect(a.security.rows()).toHaveCount(1);
  const afterOthers = await sessionsOf(email);
  expect(afterOthers).toHaveLength(1);
  expect(afterOthers[0].user_agent).toBe(DEVICES.laptop.userAgent);
  expect(afterOthers.map((s) => s._id)).not.toContain(api._id);
  await expect(a.page.getByRole("button", { name: "Sign out all other sessions" })).toBeDisabled();

  // Sign C in again, then log out everywhere from A.
  const c2 = await signedInDevice(browser, "phone", email);
  expect(await sessionsOf(email)).toHaveLength(2);
  await a.security.goto();
  await a.security.logOutEverywhere();
  await a.page.waitForURL(/\/login\?notice=everywhere/);
  await expect(a.page.getByTestId("notice")).toHaveText("Signed out everywhere: 2 sessions ended, including this one.");
  expect(await sessionsOf(email)).toHaveLength(0);
  expect((await a.context.cookies()).filter((x) => x.name.includes("sessionguard"))).toEqual([]);
  await c2.page.goto("/account/security");
  await c2.page.waitForURL(/\/login\?notice=ended/);

  for (const d of [a, b, c, c2]) await d.context.close();
});

test("when the live stream is refused, an open page checks on focus instead", async ({ browser }) => {
  const email = uniqueEmail();
  await createAccount(test.info().project.use.baseURL!, email);
  const a = await signedInDevice(browser, "laptop", email);
  const b = await signedInDevice(browser, "firefox", email);
  // As when the instance serves its maximum of streams: the server answers 503.
  await b.context.route("**/api/session_events", (route) => route.fulfill({ status: 503, body: "" }));
  await b.page.reload();
  await new LoginPage(b.page).waitForHydration();

  await a.security.goto();
  await a.security.revoke("firefox");
  await expect(a.security.rows()).toHaveCount(2);

  await b.page.evaluate(() => window.dispatchEvent(new Event("focus")));
  await b.page.waitForURL(/\/login\?notice=ended&/);
  await expect(b.page.getByTestId("notice")).toHaveText("Your session ended. Please sign in again.");
  await a.context.close();
  await b.context.close();
});

test("the sign-in page only follows local next paths", async ({ browser }) => {
  const email = uniqueEmail();
  await createAccount(test.info().project.use.baseURL!, email);
  const context = await newDevice(browser, "laptop");
  const page = await context.newPage();
  const login = new LoginPage(page);
  await login.goto("?next=https://evil.example/");
  await login.signIn(email);
  await page.waitForURL(onSecurityPage);
  await context.close();
});

test("recent activity says how long ago each event was, measured from now", async ({ browser }) => {
  const email = uniqueEmail();
  await createAccount(test.info().project.use.baseURL!, email);
  const device = await signedInDevice(browser, "laptop", email);
  // Move the account's whole history about three hours into the past: the newest event is
  // then three hours old too, and must say so.
  const db = await database();
  const user = await db.collection("users").findOne({ email });
  const events = db.collection("security_events");
  const hoursAgo = (hours: number) => new Date(Date.now() - hours * 3600 * 1000);
  await events.updateMany({ user_id: user!._id.toHexString(), kind: "registered" }, { $set: { at: hoursAgo(3.2) } });
  await events.updateMany({ user_id: user!._id.toHexString(), kind: "login" }, { $set: { at: hoursAgo(3.1) } });

  // The activity log has its own page, linked from the security page.
  await device.page.getByRole("link", { name: "Recent security activity →" }).click();
  await expect(device.page).toHaveURL(/\/account\/activity$/);
  await expect(device.page.getByRole("heading", { level: 1 })).toHaveText("Recent security activity");
  const rows = device.page.getByTestId("security-events").locator("li");
  await expect(rows).toHaveCount(2);
  await expect(rows.first()).toContainText("Signed in");
  await expect(rows.first()).toContainText("(3 hours ago)");
  await expect(rows.nth(1)).toContainText("Account created");
  await expect(rows.nth(1)).toContainText("(3 hours ago)");
  await device.context.close();
});

test("deleting the account asks for the password, ends every session, and removes the account's data", async ({ browser }) => {
  const email = uniqueEmail();
  await createAccount(test.info().project.use.baseURL!, email);
  const a = await signedInDevice(browser, "laptop", email);
  const b = await signedInDevice(browser, "phone", email);
  const db = await database();
  const user = await db.collection("users").findOne({ email });
  const userId = user!._id.toHexString();

  await a.page.getByRole("link", { name: "Delete my account…" }).click();
  const confirm = a.page.getByRole("group", { name: "Delete your account?" });
  await confirm.getByLabel("Password").fill("not the password");
  await confirm.getByRole("button", { name: "Yes, delete my account" }).click();
  await expect(confirm.locator("#field-password-error")).toHaveText("Your current password is not correct.");
  expect(await db.collection("users").countDocuments({ _id: user!._id })).toBe(1);

  await confirm.getByLabel("Password").fill(PASSWORD);
  await confirm.getByRole("button", { name: "Yes, delete my account" }).click();
  await expect(a.page).toHaveURL(/\/login\?notice=deleted&count=3/);
  await expect(a.page.getByTestId("notice")).toHaveText("Your account was deleted, and 3 sessions ended with it.");
  await expect(b.page.getByText("Your session ended. Please sign in again.").first()).toBeVisible({ timeout: 3000 });
  expect(await db.collection("users").countDocuments({ _id: user!._id })).toBe(0);
  expect(await db.collection("sessions").countDocuments({ user_id: userId })).toBe(0);
  expect(await db.collection("security_events").countDocuments({ user_id: userId })).toBe(0);
  await Promise.all([a.context.close(), b.context.close()]);
});
