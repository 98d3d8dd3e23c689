import { execFileSync } from "node:child_process";
import path from "node:path";

import { expect, test } from "@playwright/test";
import { closeDatabase, createAccount, DEVICES, sessionsOf, signedInDevice, uniqueEmail } from "./fixtures";

test.afterAll(closeDatabase);

/** Runs the operator's command line: the server's own binary, on the database under test. */
function sessionguard(...args: string[]): string {
  const binary = path.resolve(process.cwd(), "..", "target", "debug", "sessionguard");
  return execFileSync(binary, args, { env: { ...process.env, RUST_LOG: "warn" }, encoding: "utf8" });
}

test("an administrator ends one session: its open page says so within 2 s, the other stays", async ({ browser }) => {
  const email = uniqueEmail();
  await createAccount(test.info().project.use.baseURL!, email);
  const laptop = await signedInDevice(browser, "laptop", email);
  const firefox = await signedInDevice(browser, "firefox", email);
  const target = (await sessionsOf(email)).find((session) => session.user_agent === DEVICES.firefox.userAgent);
  expect(target, "the Firefox session is stored").toBeTruthy();

  expect(sessionguard("sessions", "end", email, "--handle", target!.handle).trim()).toBe(`ended 1 session of ${email}`);

  await expect(firefox.page.getByText("An administrator ended this session.", { exact: true }).first()).toBeVisible({ timeout: 2000 });
  await expect(firefox.page).toHaveURL(/\/login\?notice=ended_admin/);
  await expect(laptop.page).toHaveURL(/\/account\/security$/);
  // Left: the laptop and the session createAccount's registration started.
  await expect(laptop.security.rows()).toHaveCount(2);
  const left = (await sessionsOf(email)).map((session) => session.user_agent);
  expect(left).toHaveLength(2);
  expect(left).toContain(DEVICES.laptop.userAgent);
  expect(left).not.toContain(DEVICES.firefox.userAgent);
  await Promise.all([laptop.context.close(), firefox.context.close()]);
});

test("the activity page names an administrator's ending", async ({ browser }) => {
  const email = uniqueEmail();
  await createAccount(test.info().project.use.baseURL!, email);
  const laptop = await signedInDevice(browser, "laptop", email);
  const firefox = await signedInDevice(browser, "firefox", email);
  const target = (await sessionsOf(email)).find((session) => session.user_agent === DEVICES.firefox.userAgent);
  sessionguard("sessions", "end", email, "--handle", target!.handle);

  await laptop.page.goto("/account/activity");
  await expect(laptop.page.getByText("Ended by an administrator").first()).toBeVisible();
  await Promise.all([laptop.context.close(), firefox.context.close()]);
});
