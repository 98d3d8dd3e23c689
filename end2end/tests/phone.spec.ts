import { expect, test, type Page } from "@playwright/test";
import { closeDatabase, createAccount, LoginPage, onSecurityPage, uniqueEmail } from "./fixtures";

test.afterAll(closeDatabase);

// A small phone: 360 × 740 CSS pixels.
test.use({ viewport: { width: 360, height: 740 } });

/** The header is one compact row below the top edge, and nothing makes the page scroll sideways. */
async function expectPhoneLayout(page: Page, what: string) {
  const header = (await page.getByRole("banner").boundingBox())!;
  expect(header.height, `${what}: header height`).toBeLessThanOrEqual(64);
  const logo = (await page.getByRole("banner").getByRole("link", { name: "sessionguard" }).boundingBox())!;
  expect(logo.y, `${what}: the logo keeps off the top edge`).toBeGreaterThanOrEqual(8);
  expect(logo.y + logo.height, `${what}: the logo sits in the header`).toBeLessThanOrEqual(header.y + header.height);
  expect(await page.evaluate(() => document.documentElement.scrollWidth), `${what}: horizontal overflow`).toBeLessThanOrEqual(360);
}

/** Every `<time>` on the page is one line: a date never breaks into "2026-11-" and "30". */
async function expectTimesOnOneLine(page: Page, what: string) {
  const times = page.locator("time");
  await expect(times.first()).toBeVisible();
  const shapes = await times.evaluateAll((elements) =>
    elements.map((el) => ({
      text: el.textContent,
      lines: el.getClientRects().length,
      height: el.getBoundingClientRect().height,
      lineHeight: parseFloat(getComputedStyle(el).lineHeight),
    })),
  );
  for (const shape of shapes) {
    expect(shape.lines, `${what}: "${shape.text}" on one line`).toBe(1);
    expect(shape.height, `${what}: "${shape.text}" one line high`).toBeLessThanOrEqual(shape.lineHeight + 1);
  }
}

test("on a 360 px phone the header is one compact row and nothing breaks mid-word", async ({ page }) => {
  const email = uniqueEmail();
  await createAccount(test.info().project.use.baseURL!, email);
  for (const path of ["/", "/login", "/register", "/no-such-page"]) {
    await page.goto(path);
    await expectPhoneLayout(page, path);
  }

  const login = new LoginPage(page);
  await login.goto();
  await login.signIn(email);
  await page.waitForURL(onSecurityPage);
  await expectPhoneLayout(page, "/account/security");
  // The email gives way: one line, cut with an ellipsis, the whole address in its title.
  const signedInAs = page.getByRole("banner").getByTestId("signed-in-as");
  await expect(signedInAs).toHaveAttribute("title", email);
  const header = await signedInAs.evaluate((el) => ({
    truncated: el.scrollWidth > el.clientWidth,
    ellipsis: getComputedStyle(el).textOverflow,
    lines: el.getClientRects().length,
    height: el.getBoundingClientRect().height,
    lineHeight: parseFloat(getComputedStyle(el).lineHeight),
  }));
  expect(header).toMatchObject({ truncated: true, ellipsis: "ellipsis", lines: 1 });
  expect(header.height).toBeLessThanOrEqual(header.lineHeight + 1);
  await expectTimesOnOneLine(page, "/account/security");

  for (const path of ["/account/security?confirm=everywhere", "/account/security?confirm=delete", "/account/activity"]) {
    await page.goto(path);
    await expectPhoneLayout(page, path);
  }
  await expectTimesOnOneLine(page, "/account/activity");

  // In running text the address breaks only before its @, never inside a name.
  await page.goto("/");
  await expectPhoneLayout(page, "/ signed in");
  const [local, domain] = [email.slice(0, email.indexOf("@")), email.slice(email.indexOf("@"))];
  for (const part of [local, domain]) {
    const shape = await page
      .getByRole("main")
      .getByText(part, { exact: true })
      .evaluate((el) => ({ height: el.getBoundingClientRect().height, lineHeight: parseFloat(getComputedStyle(el).lineHeight) }));
    expect(shape.height, `"${part}" on one line`).toBeLessThanOrEqual(shape.lineHeight + 1);
  }
});
