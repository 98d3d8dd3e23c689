import { expect, test, type Page } from "@playwright/test";
import { closeDatabase, createAccount, LoginPage, signedInDevice, uniqueEmail } from "./fixtures";

test.afterAll(closeDatabase);

/** What has keyboard focus, as a screen reader would name it: tag, id, name and text. */
function focused(page: Page) {
  return page.evaluate(() => {
    const e = document.activeElement;
    return e ? `${e.tagName.toLowerCase()}#${e.id}[${e.getAttribute("name") ?? ""}] ${(e.textContent ?? "").trim()}` : "none";
  });
}

for (const javaScriptEnabled of [true, false]) {
  test(`a failed sign-in marks the fields and points them at the message (${javaScriptEnabled ? "with" : "without"} JavaScript)`, async ({
    browser,
  }) => {
    const email = uniqueEmail();
    await createAccount(test.info().project.use.baseURL!, email);
    const context = await browser.newContext({ javaScriptEnabled });
    const page = await context.newPage();
    const login = new LoginPage(page, javaScriptEnabled);
    await login.goto();
    await login.signIn(email, "not the password");
    await expect(login.notice()).toHaveText("That email and password do not match an account.");
    const noticeId = await login.notice().getAttribute("id");
    expect(noticeId, "the message has an id to point at").toBeTruthy();
    for (const label of ["Email", "Password"]) {
      const field = page.getByLabel(label);
      await expect(field).toHaveAttribute("aria-invalid", "true");
      expect((await field.getAttribute("aria-describedby"))?.split(" ")).toContain(noticeId);
    }
    if (javaScriptEnabled) expect(await focused(page), "focus on the first field in error").toBe("input#field-email[email] ");
    await context.close();
  });
}

test("a revoke leaves focus on the list's status line", async ({ browser }) => {
  const email = uniqueEmail();
  await createAccount(test.info().project.use.baseURL!, email);
  const a = await signedInDevice(browser, "laptop", email);
  const b = await signedInDevice(browser, "firefox", email);
  await a.page.reload();
  await new LoginPage(a.page).waitForHydration();
  await a.security.revoke("firefox");
  await expect(a.security.notice()).toHaveText("Signed out that session.");
  await expect(a.security.notice()).toBeFocused();
  await Promise.all([a.context.close(), b.context.close()]);
});

test("the delete confirmation takes focus to its field, and Cancel gives it back to the button that opened it", async ({ browser }) => {
  const email = uniqueEmail();
  await createAccount(test.info().project.use.baseURL!, email);
  const a = await signedInDevice(browser, "laptop", email);
  await a.page.getByRole("link", { name: "Delete my account…" }).click();
  const confirm = a.page.getByRole("group", { name: "Delete your account?" });
  await expect(confirm.getByLabel("Password")).toBeFocused();
  await confirm.getByRole("link", { name: "Cancel" }).click();
  await expect(confirm).toHaveCount(0);
  await expect(a.page.getByRole("link", { name: "Delete my account…" })).toBeFocused();
  await a.context.close();
});

test("the open 'log out everywhere' confirmation does not mark its link as the current page", async ({ browser }) => {
  const email = uniqueEmail();
  await createAccount(test.info().project.use.baseURL!, email);
  const a = await signedInDevice(browser, "laptop", email);
  await a.page.getByRole("link", { name: "Log out everywhere…" }).click();
  await expect(a.page.getByRole("group", { name: "Log out everywhere?" })).toBeVisible();
  await expect(a.page.getByRole("link", { name: "Log out everywhere…" })).not.toHaveAttribute("aria-current", /.*/);
  await a.context.close();
});

test("the 'session ended' notice sits where every other notice sits: under the page heading", async ({ browser }) => {
  const email = uniqueEmail();
  await createAccount(test.info().project.use.baseURL!, email);
  const a = await signedInDevice(browser, "laptop", email);
  const b = await signedInDevice(browser, "firefox", email);
  await a.page.reload();
  await a.security.revoke("firefox");
  await expect(b.page.getByTestId("session-ended")).toHaveText("This session was ended from another device.", { timeout: 2000 });
  const placement = await b.page.evaluate(() => {
    const heading = document.querySelector("h1")!;
    const ended = document.querySelector('[data-testid="session-ended"]')!;
    const notice = document.querySelector('[data-testid="notice"]')!;
    return {
      afterHeading: Boolean(heading.compareDocumentPosition(ended) & Node.DOCUMENT_POSITION_FOLLOWING),
      besideNotice: ended.parentElement === notice.parentElement,
    };
  });
  expect(placement).toEqual({ afterHeading: true, besideNotice: true });
  await Promise.all([a.context.close(), b.context.close()]);
});
