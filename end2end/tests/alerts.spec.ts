import AxeBuilder from "@axe-core/playwright";
import { expect, test } from "@playwright/test";
import { closeDatabase, createAccount, DEVICES, sessionsOf, signedInDevice, uniqueEmail } from "./fixtures";

test.afterAll(closeDatabase);

test("a sign-in elsewhere: the open tab says so at once, and 'Not you? End it' signs that device out", async ({ browser }) => {
  const email = uniqueEmail();
  await createAccount(test.info().project.use.baseURL!, email);
  const laptop = await signedInDevice(browser, "laptop", email);
  const phone = await signedInDevice(browser, "phone", email);

  const alert = laptop.page.getByTestId("sign-in-alert");
  await expect(alert).toContainText("New sign-in: Safari on iPhone, 127.0.0.1, just now", { timeout: 2000 });
  await expect(alert).toHaveAttribute("role", "status");
  await expect(alert.getByText("New device", { exact: true })).toBeVisible();
  await expect(alert).toHaveCount(1);
  await expect(phone.page.getByTestId("sign-in-alert"), "the session that signed in never hears its own alert").toHaveCount(0);

  for (const colorScheme of ["light", "dark"] as const) {
    await laptop.page.emulateMedia({ colorScheme });
    const results = await new AxeBuilder({ page: laptop.page }).analyze();
    expect(results.violations, `axe in ${colorScheme}`).toEqual([]);
  }

  await alert.getByRole("button", { name: "Not you? End it" }).click();
  await expect(alert.getByRole("link", { name: "Change your password" })).toBeVisible();
  await expect(phone.page.getByText("This session was ended from another device.", { exact: true }).first()).toBeVisible({ timeout: 2000 });
  await expect(phone.page).toHaveURL(/\/login\?notice=ended_device/);
  expect((await sessionsOf(email)).map((session) => session.user_agent)).not.toContain(DEVICES.phone.userAgent);

  await alert.getByRole("button", { name: "Dismiss" }).click();
  await expect(laptop.page.getByTestId("sign-in-alert")).toHaveCount(0);
  await expect(laptop.page, "the laptop is on its session list, told the session ended").toHaveURL(/\/account\/security\?notice=revoked$/);
  await Promise.all([laptop.context.close(), phone.context.close()]);
});

test("without JavaScript, the security page marks a sign-in from a new device", async ({ browser }) => {
  const email = uniqueEmail();
  await createAccount(test.info().project.use.baseURL!, email);
  const phone = await signedInDevice(browser, "phone", email, false);
  const laptop = await signedInDevice(browser, "laptop", email, false);
  await laptop.page.reload();
  const phoneRow = laptop.security.rows().filter({ hasText: "Safari on iPhone" });
  await expect(phoneRow.getByText("New device", { exact: true })).toBeVisible();
  await Promise.all([laptop.context.close(), phone.context.close()]);
});
