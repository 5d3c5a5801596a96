/** Shared pieces of the browser tests: finding Debian's chromium and waiting on the page's DOM. */
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Page } from 'playwright-core';

/** Debian's chromium: PEERCHAIN_CHROMIUM, else /usr/bin/chromium, else the first chromium on PATH. */
export function findChromium(): string {
  const env = process.env.PEERCHAIN_CHROMIUM;
  if (env !== undefined && env !== '') return env;
  const dirs = ['/usr/bin', ...(process.env.PATH ?? '').split(delimiter)];
  for (const d of dirs) for (const name of ['chromium', 'chromium-browser']) if (d !== '' && existsSync(join(d, name))) return join(d, name);
  return '/usr/bin/chromium';
}

/** Flags for a headless chromium in a container: no sandbox (root), no background traffic. */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-dev-shm-usage', '--disable-component-update', '--no-first-run'];

/**
 * The little of the page's DOM the tests read inside the page. The root
 * tsconfig has no DOM types, and strings would be eval'd, which the page's
 * content security policy rightly forbids, so in-page functions cast
 * globalThis to this.
 */
export interface PageGlobals {
  document: { querySelectorAll(s: string): { length: number }; querySelector(s: string): { hidden?: boolean } | null; documentElement: { scrollWidth: number } };
  innerWidth: number;
  marker?: number;
}

/** Waits until `selector` matches exactly n elements. */
export async function countIs(p: Page, selector: string, n: number): Promise<void> {
  await p.waitForFunction(([sel, want]) => (globalThis as unknown as PageGlobals).document.querySelectorAll(sel).length === want, [selector, n] as const);
}

/** Collects a page's console errors and uncaught exceptions into `errors`. */
export function watchErrors(p: Page, where: string, errors: string[]): void {
  p.on('console', (m) => {
    if (m.type() === 'error') errors.push(`${where}: console: ${m.text()}`);
  });
  p.on('pageerror', (e) => errors.push(`${where}: page error: ${e.message}`));
}
