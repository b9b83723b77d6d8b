// A test file's chromium and the `nixfleet serve` its current test started: chromium is launched
// before the file's tests, and after them both are closed (the server by SIGKILL, as a test that
// failed half-way may leave it running).
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import type { ServeProcess } from '../sync/support/serve-process.js';
import { launchChromium } from './chromium.js';

export interface BrowserSession {
  browser: Browser;
  serve: ServeProcess | undefined;
}

export function browserSession(): BrowserSession {
  const session = { serve: undefined } as BrowserSession;
  beforeAll(async () => {
    session.browser = await launchChromium();
  });
  afterAll(async () => {
    await session.browser?.close();
    if (session.serve) await session.serve.stop('SIGKILL');
  });
  return session;
}
