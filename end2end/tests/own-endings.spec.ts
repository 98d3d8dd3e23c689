import { expect, test, type Page } from "@playwright/test";
import { closeDatabase, createAccount, LoginPage, onSecurityPage, PASSWORD, signedInDevice, uniqueEmail } from "./fixtures";

test.afterAll(closeDatabase);

/** Long enough for the stream's news of the old session id to arrive and for a reload to happen. */
const SETTLE_MS = 2500;

/** Changes the password on the security page the way a person does. */
async function changePassword(page: Page, next: string) {
  const card = page.getByRole("region", { name: "Change password" });
  await card.getByLabel("Current password").fill(PASSWORD);
  await card.getByLabel("New password").fill(next);
  await card.getByRole("button", { name: "Change password" }).click();
}

test("changing the password is this tab's own doing: no 'ended' alert, no reload, still live", async ({ browser }) => {
  const email = uniqueEmail();
  await createAccount(test.info().project.use.baseURL!, email);
  const a = await signedInDevice(browser, "laptop", email);
  // Every alert the page shows meanwhile, however briefly, and every full page load.
  let loads = 0;
  a.page.on("load", () => loads++);
  await a.page.evaluate(() => {
    const seen: string[] = ((window as unknown as { alertsSeen: string[] }).alertsSeen = []);
    new MutationObserver(() => document.querySelectorAll('[role="alert"]').forEach((e) => seen.push(e.textContent ?? ""))).observe(
      document.body,
      { subtree: true, childList: true, characterData: true },
    );
  });

  await changePassword(a.page, "a brand new passphrase");
  await expect(a.security.notice()).toHaveText(/^Password changed\./);
  await a.page.waitForTimeout(SETTLE_MS);
  expect(await a.page.evaluate(() => (window as unknown as { alertsSeen?: string[] }).alertsSeen), "no alert, and no reload").toEqual([]);
  expect(loads, "no full page load").toBe(0);
  await expect(a.page).toHaveURL(/\/account\/security\?notice=password&count=1$/);
  await expect(a.security.notice()).toHaveText(/^Password changed\./);
  await expect(a.page.locator("body")).toHaveAttribute("data-live", "connected");
  await a.context.close();
});

test("after a successful password change both password fields are empty", async ({ browser }) => {
  const email = uniqueEmail();
  await createAccount(test.info().project.use.baseURL!, email);
  const a = await signedInDevice(browser, "laptop", email);
  await changePassword(a.page, "a brand new passphrase");
  await expect(a.security.notice()).toHaveText(/^Password changed\./);
  const card = a.page.getByRole("region", { name: "Change password" });
  await expect(card.getByLabel("Current password")).toHaveValue("");
  await expect(card.getByLabel("New password")).toHaveValue("");
  await a.context.close();
});

test("logging out everywhere right after a password change shows only that outcome", async ({ browser }) => {
  const email = uniqueEmail();
  await createAccount(test.info().project.use.baseURL!, email);
  const a = await signedInDevice(browser, "laptop", email);
  await changePassword(a.page, "a brand new passphrase");
  await expect(a.security.notice()).toHaveText(/^Password changed\./);
  await a.security.logOutEverywhere();
  await expect(a.page).toHaveURL(/\/login\?notice=everywhere/);
  await a.page.waitForTimeout(SETTLE_MS);
  await expect(a.page).toHaveURL(/\/login\?notice=everywhere/);
  await expect(a.page.getByTestId("notice")).toHaveText(/^Signed out everywhere/);
  await expect(a.page.getByRole("alert")).toHaveCount(0);
  await a.context.close();
});

test("another tab of the same browser is not told that a password change there ended its session", async ({ browser }) => {
  const email = uniqueEmail();
  await createAccount(test.info().project.use.baseURL!, email);
  const a = await signedInDevice(browser, "laptop", email);
  const other = await a.context.newPage();
  await other.goto("/");
  await expect(other.locator("body")).toHaveAttribute("data-live", "connected");
  let loads = 0;
  other.on("load", () => loads++);

  await changePassword(a.page, "a brand new passphrase");
  await expect(a.security.notice()).toHaveText(/^Password changed\./);
  await other.waitForTimeout(SETTLE_MS);
  await expect(other.getByRole("alert")).toHaveCount(0);
  expect(loads, "the other tab stays where it is").toBe(0);
  await expect(other).toHaveURL(/\/$/);
  await expect(other.locator("body")).toHaveAttribute("data-live", "connected");
  await a.context.close();
});

test("after logging out, moving on from the sign-in page is not announced as an ended session", async ({ browser }) => {
  const email = uniqueEmail();
  await createAccount(test.info().project.use.baseURL!, email);
  const a = await signedInDevice(browser, "laptop", email);
  await a.page.getByRole("banner").getByRole("button", { name: "Log out" }).click();
  await expect(a.page).toHaveURL(/\/login\?notice=signed_out/);
  await a.page.getByRole("link", { name: "Create one" }).click();
  await expect(a.page).toHaveURL(/\/register$/);
  await a.page.waitForTimeout(SETTLE_MS);
  await expect(a.page).toHaveURL(/\/register$/);
  await expect(a.page.getByRole("alert")).toHaveCount(0);
  await a.context.close();
});

test("logged out and signed in again in the same tab, an ending elsewhere is announced again", async ({ browser }) => {
  const email = uniqueEmail();
  await createAccount(test.info().project.use.baseURL!, email);
  const b = await signedInDevice(browser, "firefox", email);
  const a = await signedInDevice(browser, "laptop", email);
  await a.page.getByRole("banner").getByRole("button", { name: "Log out" }).click();
  await expect(a.page).toHaveURL(/\/login\?notice=signed_out/);
  await new LoginPage(a.page).signIn(email);
  await a.page.waitForURL(onSecurityPage);
  await expect(a.page.locator("body")).toHaveAttribute("data-live", "connected");
  await b.page.reload();
  await b.security.revoke("laptop");
  await expect(a.page.getByText("This session was ended from another device.").first()).toBeVisible({ timeout: 6000 });
  await Promise.all([a.context.close(), b.context.close()]);
});
