import { expect, test, type Page } from "@playwright/test";
import {
  closeDatabase,
  createAccount,
  database,
  LoginPage,
  SECOND_INSTANCE,
  sessionsOf,
  signedInDevice,
  uniqueEmail,
} from "./fixtures";

test.afterAll(closeDatabase);

/** The notice an open page shows when its session ends; it must come without any user action. */
function endedNotice(page: Page) {
  return page.getByTestId("session-ended");
}

/**
 * Waits until `pages` all say `why`, within 2 s of now: on the open page (the notice), or, for a
 * page that has already moved on to sign-in, in the sign-in page's notice. Checked together, so
 * one slow page does not let another move on unseen.
 */
async function expectToldWhy(pages: Page[], why: string) {
  await Promise.all(pages.map((page) => expect(page.getByText(why, { exact: true }).first()).toBeVisible({ timeout: 2000 })));
}

/** Opens another tab of the same browser on `path`, hydrated (and so listening). */
async function openTab(page: Page, path: string): Promise<Page> {
  const tab = await page.context().newPage();
  await tab.goto(path);
  await new LoginPage(tab).waitForHydration();
  await expect(tab.locator("body")).toHaveAttribute("data-live", "connected");
  return tab;
}

for (const instances of ["one app instance", "two app instances"] as const) {
  test.describe(`live sign-out on ${instances}`, () => {
    const otherBase = instances === "two app instances" ? SECOND_INSTANCE : undefined;
    test.skip(instances === "two app instances" && !SECOND_INSTANCE, "scripts/test starts the second instance");

    test("revoking B from A: B's open security page and home page say so within 2 s, then offer sign-in", async ({ browser }) => {
      const email = uniqueEmail();
      await createAccount(test.info().project.use.baseURL!, email);
      const a = await signedInDevice(browser, "laptop", email);
      const b = await signedInDevice(browser, "firefox", email, true, otherBase);
      const bHome = await openTab(b.page, "/");

      await a.page.reload();
      await expect(a.security.rows()).toHaveCount(3);
      await a.security.revoke("firefox");
      await expectToldWhy([b.page, bHome], "This session was ended from another device.");
      await expect(b.page).toHaveURL(/\/login\?notice=ended_device&next=%2Faccount%2Fsecurity/);
      await expect(b.page.getByTestId("notice")).toHaveText("This session was ended from another device.");
      await expect(bHome).toHaveURL(/\/login\?notice=ended_device&next=%2F$/);
      await Promise.all([a.context.close(), b.context.close()]);
    });

    test("log out everywhere: every other device follows at once", async ({ browser }) => {
      const email = uniqueEmail();
      await createAccount(test.info().project.use.baseURL!, email);
      const a = await signedInDevice(browser, "laptop", email);
      const b = await signedInDevice(browser, "firefox", email, true, otherBase);
      const c = await signedInDevice(browser, "phone", email, true, otherBase);
      await a.security.logOutEverywhere();
      await expectToldWhy([b.page, c.page], "You were signed out everywhere.");
      await expect(a.page).toHaveURL(/\/login\?notice=everywhere/);
      for (const page of [b.page, c.page]) await expect(page).toHaveURL(/\/login\?notice=ended_everywhere/);
      expect(await sessionsOf(email)).toHaveLength(0);
      await Promise.all([a.context.close(), b.context.close(), c.context.close()]);
    });

    test("the security page lists a new sign-in elsewhere without polling or reload", async ({ browser }) => {
      const email = uniqueEmail();
      await createAccount(test.info().project.use.baseURL!, email);
      const a = await signedInDevice(browser, "laptop", email);
      await a.page.reload();
      await new LoginPage(a.page).waitForHydration();
      await expect(a.security.rows()).toHaveCount(2);
      const b = await signedInDevice(browser, "phone", email, true, otherBase);
      await expect(a.security.rows()).toHaveCount(3, { timeout: 2000 });
      await b.page.getByRole("banner").getByRole("button", { name: "Log out" }).click();
      await expect(a.security.rows()).toHaveCount(2, { timeout: 2000 });
      await Promise.all([a.context.close(), b.context.close()]);
    });
  });
}

test("logging out in one tab: the browser's other tab follows at once, saying why", async ({ browser }) => {
  const email = uniqueEmail();
  await createAccount(test.info().project.use.baseURL!, email);
  const a = await signedInDevice(browser, "laptop", email);
  const other = await openTab(a.page, "/");
  await a.page.getByRole("banner").getByRole("button", { name: "Log out" }).click();
  await expect(a.page).toHaveURL(/\/login\?notice=signed_out/);
  await expect(a.page.getByTestId("notice")).toHaveText("You have been signed out.");
  await expect(endedNotice(other)).toHaveText("You logged out in another tab.", { timeout: 2000 });
  await expect(other).toHaveURL(/\/login\?notice=ended_tab/);
  await a.context.close();
});

test("a session ended while a page is open is announced, even when the next click races the cookie's removal", async ({ browser }) => {
  const email = uniqueEmail();
  await createAccount(test.info().project.use.baseURL!, email);
  const a = await signedInDevice(browser, "laptop", email);
  await a.page.goto("/");
  await new LoginPage(a.page).waitForHydration();
  const db = await database();
  await db.collection("sessions").deleteMany({ _id: { $in: (await sessionsOf(email)).map((s) => s._id) } });
  await a.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Security" }).click();
  await expect(a.page).toHaveURL(/\/login\?notice=ended/, { timeout: 5000 });
  await expect(a.page.getByTestId("notice")).toHaveText("Your session ended. Please sign in again.");
  await a.context.close();
});
