import { expect, test } from "@playwright/test";
import { closeDatabase, createAccount, DEVICES, signedInDevice, uniqueEmail } from "./fixtures";

test.afterAll(closeDatabase);

test("a revoke in the activity log names the device that was ended and the one that ended it", async ({ browser }) => {
  const email = uniqueEmail();
  await createAccount(test.info().project.use.baseURL!, email);
  const a = await signedInDevice(browser, "laptop", email);
  const b = await signedInDevice(browser, "firefox", email);
  await a.page.reload();
  await a.security.revoke("firefox");
  await expect(a.security.notice()).toHaveText("Signed out that session.");

  await a.page.getByRole("link", { name: "Recent security activity →" }).click();
  const revoke = a.page.getByTestId("security-events").getByRole("listitem").filter({ hasText: "Session revoked" });
  await expect(revoke).toHaveCount(1);
  await expect(revoke).toContainText(`Ended ${DEVICES.firefox.label}, from ${DEVICES.laptop.label}`);
  await Promise.all([a.context.close(), b.context.close()]);
});

test("two sessions of the same browser can be told apart, and so can their buttons", async ({ browser }) => {
  const email = uniqueEmail();
  await createAccount(test.info().project.use.baseURL!, email);
  const a = await signedInDevice(browser, "laptop", email);
  const b1 = await signedInDevice(browser, "firefox", email);
  const b2 = await signedInDevice(browser, "firefox", email);
  await a.page.reload();
  const twins = a.security.rows().filter({ hasText: DEVICES.firefox.label });
  await expect(twins).toHaveCount(2);
  const [first, second] = await twins.allInnerTexts();
  expect(first, "each row reads differently").not.toBe(second);
  await expect(twins.first()).toContainText(/Signed in (just now|\d+ (minute|hour|day)s? ago)/);
  const buttons = a.page.getByTestId("session-row").getByRole("button");
  const names = await buttons.evaluateAll((all) => all.map((b) => b.getAttribute("aria-label") ?? b.textContent));
  expect(names).toHaveLength(4);
  expect(new Set(names).size, `unique accessible names: ${names.join(" | ")}`).toBe(4);
  await Promise.all([a.context.close(), b1.context.close(), b2.context.close()]);
});
