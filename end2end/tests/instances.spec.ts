import { expect, test } from "@playwright/test";
import { closeDatabase, createAccount, DEVICES, SECOND_INSTANCE, sessionsOf, signedInDevice, uniqueEmail } from "./fixtures";

test.afterAll(closeDatabase);

// Two app processes on different ports, one database (scripts/test starts both): nothing about
// a session lives in an instance, so each sees every change the other makes at once.
test.describe("two app instances, one database", () => {
  test.skip(!SECOND_INSTANCE, "scripts/test starts the second instance");

  test("sign in on B, list on A: both sessions appear; revoke through B: A refuses that session on its next request", async ({ browser }) => {
    const email = uniqueEmail();
    await createAccount(test.info().project.use.baseURL!, email);
    const onA = await signedInDevice(browser, "laptop", email);
    const onB = await signedInDevice(browser, "firefox", email, true, SECOND_INSTANCE);
    await onA.security.goto();
    await expect(onA.security.rows()).toHaveCount(3);
    await expect(onA.security.rows().getByText(DEVICES.firefox.label, { exact: true })).toBeVisible();

    await onA.page.close(); // A's next request is the one below, not its live page's.
    await onB.security.goto();
    await onB.security.revoke("laptop");
    await expect(onB.security.notice()).toHaveText("Signed out that session.");
    expect((await sessionsOf(email)).map((s) => s.user_agent)).not.toContain(DEVICES.laptop.userAgent);
    const response = await onA.context.request.post("/api/list_sessions", { headers: { origin: test.info().project.use.baseURL!, accept: "application/json" } });
    expect(response.status()).toBe(401);
    expect((await response.json()).error).toBe("SessionEnded");
    await Promise.all([onA.context.close(), onB.context.close()]);
  });

  test("log out everywhere through B: A refuses its session on its next request", async ({ browser }) => {
    const email = uniqueEmail();
    await createAccount(test.info().project.use.baseURL!, email);
    const onA = await signedInDevice(browser, "laptop", email);
    const onB = await signedInDevice(browser, "firefox", email, true, SECOND_INSTANCE);
    await onA.page.close(); // A's next request is the one below, not its live page's.
    await onB.security.logOutEverywhere();
    await expect(onB.page).toHaveURL(/\/login\?notice=everywhere/);
    const response = await onA.context.request.post("/api/list_sessions", { headers: { origin: test.info().project.use.baseURL!, accept: "application/json" } });
    expect(response.status()).toBe(401);
    expect((await response.json()).error).toBe("SessionEnded");
    expect(await sessionsOf(email)).toHaveLength(0);
    await Promise.all([onA.context.close(), onB.context.close()]);
  });
});
