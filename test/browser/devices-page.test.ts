/**
 * The Express example's "Your devices" page in a real browser: two devices of one user, each sees
 * both, one revokes the other, and the revoked one is back at the sign-in form on reload.
 *
 * Drives Debian's Chromium (/usr/bin/chromium) through playwright-core. Without it the suite is
 * skipped with a printed reason locally and fails under CI=true.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type ExampleApp } from '../../examples/express/app.js';
import { CHROMIUM_PATH, probeChromium, serviceGate } from '../support/services.js';

const UA = {
  windowsChrome: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  iphoneSafari:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
};
/**
 * Chromium sends client hints naming itself ("Chromium" 156) whatever user agent it is told to
 * claim, and parseDevice() trusts hints over the User-Agent string. A real Chrome 131 on Windows
 * sends these, so the Windows context sends them too. Safari sends none.
 */
const HINTS: Record<keyof typeof UA, Record<string, string>> = {
  windowsChrome: { 'sec-ch-ua': '"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"', 'sec-ch-ua-mobile': '?0', 'sec-ch-ua-platform': '"Windows"' },
  iphoneSafari: {},
};
const LABEL = { windowsChrome: 'Chrome 131 on Windows 10', iphoneSafari: 'Safari on iPhone' };
/** Every wait in a page is bounded by this, so a broken page fails instead of hanging. */
const STEP_TIMEOUT = 15_000;

const available = serviceGate('Chromium', await probeChromium());

describe.runIf(available)('Express example: the devices page in Chromium', () => {
  let dir: string;
  let example: ExampleApp;
  let server: Server;
  let base: string;
  let browser: Browser;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sessionkeeper-browser-'));
    example = await createApp({ filename: join(dir, 'sessions.db') });
    server = example.app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      timeout: 30_000,
    });
  }, 60_000);

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    await example?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  async function device(kind: keyof typeof UA): Promise<Page> {
    const context = await browser.newContext({ userAgent: UA[kind], extraHTTPHeaders: HINTS[kind] });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(STEP_TIMEOUT);
    page.setDefaultNavigationTimeout(STEP_TIMEOUT);
    return page;
  }

  async function signIn(page: Page, name: string): Promise<void> {
    await page.goto(`${base}/`);
    await expect.poll(() => page.url()).toBe(`${base}/login`);
    expect(await page.getByText('This is a demo.').isVisible()).toBe(true);
    await page.getByLabel('Your name').fill(name);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/devices`);
  }

  /** The listed sessions as the page shows them, once it shows `count` of them. */
  async function listed(page: Page, count: number) {
    const items = page.locator('#sessions > li');
    await items.nth(count - 1).waitFor();
    await expect.poll(() => items.count(), { timeout: STEP_TIMEOUT }).toBe(count);
    return Promise.all(
      (await items.all()).map(async (item) => ({
        label: (await item.locator('h3').evaluate((h) => h.firstChild?.textContent ?? '')).trim(),
        thisDevice: (await item.locator('.badge', { hasText: 'This device' }).count()) === 1,
        kind: (await item.locator('.kind').textContent())?.trim(),
        text: (await item.textContent()) ?? '',
        revoke: await item.getByRole('button', { name: /^Revoke/ }).count(),
      })),
    );
  }

  it('shows both devices of a user, revokes the other one, and the revoked one is signed out', async () => {
    const laptop = await device('windowsChrome');
    const phone = await device('iphoneSafari');
    await signIn(laptop, 'alice');
    await signIn(phone, 'alice');

    await laptop.reload();
    const seenByLaptop = await listed(laptop, 2);
    expect(seenByLaptop.map(({ label, thisDevice, kind, revoke }) => ({ label, thisDevice, kind, revoke }))).toEqual([
      { label: LABEL.windowsChrome, thisDevice: true, kind: 'Computer · Chrome · Windows', revoke: 0 },
      { label: LABEL.iphoneSafari, thisDevice: false, kind: 'Phone · Safari · iOS', revoke: 1 },
    ]);
    for (const { text } of seenByLaptop) {
      expect(text).toContain('127.0.0.0'); // the stored /24 network of 127.0.0.1
      expect(text).toMatch(/Signed in\s*just now/);
    }
    await expect.poll(() => laptop.locator('#who').textContent()).toBe('Signed in as alice');

    const seenByPhone = await listed(phone, 2);
    expect(seenByPhone.map(({ label, thisDevice }) => ({ label, thisDevice }))).toEqual([
      { label: LABEL.iphoneSafari, thisDevice: true },
      { label: LABEL.windowsChrome, thisDevice: false },
    ]);

    await laptop.getByRole('button', { name: `Revoke ${LABEL.iphoneSafari}` }).click();
    await expect.poll(() => laptop.getByRole('status').textContent()).toBe(`Signed out of ${LABEL.iphoneSafari}.`);
    expect((await listed(laptop, 1)).map(({ label, thisDevice }) => ({ label, thisDevice }))).toEqual([{ label: LABEL.windowsChrome, thisDevice: true }]);
    expect(await laptop.getByRole('button', { name: 'Sign out everywhere else' }).isDisabled()).toBe(true);

    await phone.reload();
    await expect.poll(() => phone.url()).toBe(`${base}/login`);
    expect(await phone.getByLabel('Your name').isVisible()).toBe(true);
  }, 90_000);

  it('signs out everywhere else, and signs out this device', async () => {
    const laptop = await device('windowsChrome');
    const phone = await device('iphoneSafari');
    await signIn(laptop, 'bob');
    await signIn(phone, 'bob');

    await laptop.reload();
    await listed(laptop, 2);
    await laptop.getByRole('button', { name: 'Sign out everywhere else' }).click();
    await expect.poll(() => laptop.getByRole('status').textContent()).toBe('Signed out of 1 other device.');
    await listed(laptop, 1);

    await phone.reload();
    await expect.poll(() => phone.url()).toBe(`${base}/login`);

    await laptop.getByRole('button', { name: 'Sign out', exact: true }).click();
    await laptop.waitForURL(`${base}/login`);
    await laptop.goto(`${base}/devices`);
    expect(laptop.url()).toBe(`${base}/login`);
  }, 90_000);
});
