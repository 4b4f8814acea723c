// What the page tests and the budget script share: web/serve.py over web/dist, a headless
// Debian Chromium with a fresh profile, waiting for the page to settle, and big fleets.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const WEB = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const PROJECT = resolve(WEB, '..');
export const DIST = join(WEB, 'dist');
export const ARTIFACTS = join(WEB, 'test-artifacts');
mkdirSync(ARTIFACTS, { recursive: true });

/**
 * Serves web/dist on a free loopback port with web/serve.py, the server the README gives:
 * precompressed files, the Content-Security-Policy header.
 */
export async function serve() {
  const child = spawn('python3', [join(WEB, 'serve.py'), DIST, '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((ok, fail) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const found = /at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
      if (found) ok(found[1]);
    });
    child.on('exit', (code) => fail(new Error(`web/serve.py exited with ${code}`)));
  });
  return {
    url,
    close: () => new Promise((ok) => { child.once('exit', ok); child.kill(); }),
  };
}

/** Debian's Chromium, headless, with a fresh profile; `close()` removes the profile. */
export async function browser() {
  const profile = mkdtempSync(join(tmpdir(), 'grove-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-dev-shm-usage',
    ],
    viewport: { width: 1360, height: 900 },
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Opens the page and waits until Grove has shown what it was opened with. */
export async function open(context, url) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(new Error(m.text())); });
  await page.goto(url);
  await page.waitForSelector('html[data-ready="true"]');
  await settle(page);
  page.errors = errors;
  return page;
}

/** Waits until everything asked of Grove (in its worker) is answered and shown. */
export async function settle(page) {
  await page.waitForFunction(() => window.grove.settled);
}

/** Replaces the title by typing it, one key at a time, as a person would; then settles. */
export async function typeTitle(page, title) {
  await page.click('#title');
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.keyboard.type(title);
  await settle(page);
}

/**
 * A fleet of `count` instances, as path → text: two edx-platform forks, every tenth instance
 * out of batch upgrades, each with its own requirements.
 */
export function bigFleet(count = 100) {
  const files = {
    'grove.yml': 'ENV_STORE: s3://grove-state/fleet\nPIPELINE_PATCHES:\n  release-job: |\n    retry: 1\n',
    'defaults/grove-requirements.txt': 'tutor==19.0.0\n',
  };
  for (let i = 1; i <= count; i++) {
    const name = `school-${String(i).padStart(String(count).length, '0')}`;
    const fork = i % 3 === 0 ? 'open-craft' : 'openedx';
    const release = i % 3 === 0 ? 'opencraft-release/sumac.1' : 'open-release/sumac.1';
    files[`instances/${name}/config.yml`] = `LMS_HOST: ${name}.example.org\nEDX_PLATFORM_REPOSITORY: https://github.com/${fork}/edx-platform.git\nEDX_PLATFORM_VERSION: ${release}\n`;
    files[`instances/${name}/grove.yml`] = `BATCH_UPGRADE_DISABLED: ${i % 10 === 0}\n`;
    files[`instances/${name}/grove-requirements.txt`] = `tutor==19.0.${i % 4}\n`;
  }
  return files;
}
