import { expect, test } from "@playwright/test";
import { closeDatabase, createAccount, LoginPage, onSecurityPage, uniqueEmail } from "./fixtures";

test.afterAll(closeDatabase);

test("the landing page renders on the server, hydrates, and states the server's own timeouts", async ({ page }) => {
  const wasmLoaded = page.waitForResponse((r) => r.url().endsWith(".wasm") && r.ok());
  await page.goto("/");
  await expect(page.getByRole("heading", { level: 1, name: "Sign-out that is real." })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Main" })).toBeVisible();
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  await wasmLoaded;

  // scripts/test runs the server with its default timeouts; the page reads them from it.
  await expect(page.getByTestId("expiry-rule")).toHaveText(
    "Idle sessions end after 30 minutes and every session after 12 hours, enforced by the server.",
  );
  // The operator's database check is /healthz, not a card on the public page.
  await expect(page.getByRole("button", { name: "Check the database" })).toHaveCount(0);
  await expect(page.getByText("Server status")).toHaveCount(0);
});

test("/healthz reports that MongoDB answers", async ({ request }) => {
  const response = await request.get("/healthz");
  expect(response.status()).toBe(200);
  const health = await response.json();
  // A short summary; the counts are on METRICS_ADDR, never on the public address.
  expect(health).toEqual({ mongodb: "ok", live: { feed: "change_stream", tabs: expect.any(Number) } });
  expect((await request.get("/metrics")).status()).toBe(404);
});

test("an unknown path shows the not-found page with status 404", async ({ page }) => {
  const response = await page.goto("/no/such/page");
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
});

test("a signed-out visit to the security page is sent to sign in", async ({ page }) => {
  await page.goto("/account/security");
  await expect(page).toHaveURL(/\/login\?next=\/account\/security$/);
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
});

test("under the content security policy every page hydrates and nothing is blocked", async ({ browser }) => {
  const email = uniqueEmail();
  await createAccount(test.info().project.use.baseURL!, email);
  const context = await browser.newContext();
  const page = await context.newPage();
  const violations: string[] = [];
  page.on("console", (message) => {
    if (/content security policy|securitypolicyviolation/i.test(message.text())) violations.push(message.text());
  });
  await page.addInitScript(() =>
    document.addEventListener("securitypolicyviolation", (event) =>
      console.error(`securitypolicyviolation: ${event.violatedDirective} blocked ${event.blockedURI}`),
    ),
  );

  const response = await page.goto("/");
  const policy = response!.headers()["content-security-policy"];
  expect(policy).toContain("frame-ancestors 'none'");
  expect(policy).not.toContain("unsafe-inline");
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");

  const login = new LoginPage(page);
  await login.goto("?next=/account/security");
  await login.signIn(email);
  await page.waitForURL(onSecurityPage);
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  await expect(page.getByTestId("session-row")).toHaveCount(2);
  await page.getByRole("banner").getByRole("button", { name: "Log out" }).click();
  await page.waitForURL("**/login?notice=signed_out");
  expect(violations).toEqual([]);
  await context.close();
});

test("the bundle travels compressed and is cached for a year under its hashed name; pages are never cached", async ({ request }) => {
  const page = await request.get("/login", { headers: { "accept-encoding": "gzip", accept: "text/html" } });
  expect(page.headers()["content-encoding"]).toBe("gzip");
  expect(page.headers()["cache-control"]).toBe("no-store");
  const html = await page.text();
  const bundle = html.match(/\/pkg\/sessionguard\.[A-Za-z0-9_-]{22}\.wasm/);
  expect(bundle, "the page links the bundle under its hashed name").not.toBeNull();
  expect(html).toMatch(/\/pkg\/sessionguard\.[A-Za-z0-9_-]{22}\.css/);

  const wasm = await request.get(bundle![0], { headers: { "accept-encoding": "gzip, deflate, br" } });
  expect(wasm.status()).toBe(200);
  expect(wasm.headers()["content-encoding"]).toBe("br");
  expect(wasm.headers()["content-type"]).toBe("application/wasm");
  expect(wasm.headers()["cache-control"]).toBe("public, max-age=31536000, immutable");
});
