import { expect, type Browser, type BrowserContext, type Page } from "@playwright/test";
import { MongoClient, type Db } from "mongodb";

export const PASSWORD = "correct horse battery";

/** User agents for "devices", so each reads differently on the security page. */
export const DEVICES = {
  laptop: {
    userAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
    label: "Chrome on Linux",
  },
  firefox: {
    userAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
    label: "Firefox on Windows 10",
  },
  phone: {
    userAgent:
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
    label: "Safari on iPhone",
  },
} as const;
export type DeviceName = keyof typeof DEVICES;

let client: MongoClient | undefined;

/** The database the app under test uses (scripts/test passes MONGODB_URI and MONGODB_DB). */
export async function database(): Promise<Db> {
  const uri = process.env.MONGODB_URI;
  const name = process.env.MONGODB_DB;
  if (!uri || !name) throw new Error("MONGODB_URI and MONGODB_DB must be set; run the suite through scripts/test");
  client ??= await new MongoClient(uri).connect();
  return client.db(name);
}

export async function closeDatabase(): Promise<void> {
  await client?.close();
  client = undefined;
}

/** Matches the security page itself (not a sign-in page whose `next` points at it). */
export const onSecurityPage = (url: URL) => url.pathname === "/account/security";

/** A fresh address for each test, so tests never share an account. */
export function uniqueEmail(): string {
  return `user-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.com`;
}

/** The session documents of the account with this email. */
export async function sessionsOf(email: string) {
  const db = await database();
  const user = await db.collection("users").findOne({ email });
  if (!user) return [];
  return db.collection("sessions").find({ user_id: user._id.toHexString() }).toArray();
}

/** Creates an account through the API, as a script would: programs send `Origin`. */
export async function createAccount(baseURL: string, email: string): Promise<void> {
  const response = await fetch(`${baseURL}/api/register`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json", origin: baseURL },
    body: new URLSearchParams({ email, password: PASSWORD }),
  });
  expect(response.status).toBe(200);
}

/** The second app instance on the same database (scripts/test starts it). */
export const SECOND_INSTANCE = process.env.BASE_URL_B;

/** A new browser context that looks like `device`, optionally without JavaScript, on the given app instance. */
export async function newDevice(browser: Browser, device: DeviceName, javaScriptEnabled = true, baseURL?: string): Promise<BrowserContext> {
  return browser.newContext({ userAgent: DEVICES[device].userAgent, javaScriptEnabled, ...(baseURL ? { baseURL } : {}) });
}

/** The sign-in page, driven the way a person uses it. */
export class LoginPage {
  /** `javaScript` says whether the page's context runs scripts (and so will hydrate). */
  constructor(
    readonly page: Page,
    readonly javaScript = true,
  ) {}

  async goto(query = "") {
    await this.page.goto(`/login${query}`);
    await this.waitForHydration();
  }

  /** With JavaScript on, waits until the page is interactive, so clicks are handled in place. */
  async waitForHydration() {
    if (this.javaScript) await expect(this.page.locator("body")).toHaveAttribute("data-hydrated", "true");
  }

  async signIn(email: string, password = PASSWORD) {
    await this.page.getByLabel("Email").fill(email);
    await this.page.getByLabel("Password").fill(password);
    await this.page.getByRole("button", { name: "Sign in" }).click();
  }

  notice() {
    return this.page.getByTestId("notice");
  }
}

/** The account security page. */
export class SecurityPage {
  constructor(readonly page: Page) {}

  async goto() {
    await this.page.goto("/account/security");
  }

  rows() {
    return this.page.getByTestId("session-row");
  }

  currentRows() {
    return this.page.locator('[data-testid="session-row"][data-current="true"]');
  }

  notice() {
    return this.page.getByTestId("notice");
  }

  async revoke(device: DeviceName) {
    await this.page.getByRole("button", { name: `Revoke the session on ${DEVICES[device].label}` }).click();
  }

  async signOutOthers() {
    await this.page.getByRole("button", { name: "Sign out all other sessions" }).click();
  }

  async logOutEverywhere() {
    await this.page.getByRole("link", { name: "Log out everywhere…" }).click();
    await this.page.getByRole("button", { name: "Yes, log out everywhere" }).click();
  }
}

/** Signs `email` in on a new context for `device` and returns its page on the security page. */
export async function signedInDevice(browser: Browser, device: DeviceName, email: string, javaScriptEnabled = true, baseURL?: string) {
  const context = await newDevice(browser, device, javaScriptEnabled, baseURL);
  const page = await context.newPage();
  const login = new LoginPage(page, javaScriptEnabled);
  await login.goto("?next=/account/security");
  await login.signIn(email);
  await page.waitForURL(onSecurityPage);
  // With JavaScript, the page watches its session live once its stream is open.
  if (javaScriptEnabled) await expect(page.locator("body")).toHaveAttribute("data-live", "connected");
  return { context, page, security: new SecurityPage(page) };
}
