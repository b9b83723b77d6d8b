// Debian's chromium, headless, for the dashboard's browser tests (see CORE-004). The flags keep it
// off the network: background services would only knock on a closed one.
import { type Browser, chromium, type Page } from 'playwright-core';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

/**
 * A new page on the dashboard at `url`, once its State Sync connection is live. `pageErrors`
 * collects what the page throws, so a test can assert there was nothing.
 */
export async function openLiveDashboard(
  browser: Browser,
  url: string,
  viewport: { width: number; height: number },
): Promise<{ page: Page; pageErrors: string[] }> {
  const page = await browser.newPage({ viewport });
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(url);
  await page.waitForSelector('#connection[data-state="live"]', { timeout: 30_000 });
  return { page, pageErrors };
}
