// What the page tests and the budget script share: a static server over web/dist, a headless
// Debian Chromium with a fresh profile, and a 100-instance fleet.

import { createServer } from 'node:http';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const WEB = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const PROJECT = resolve(WEB, '..');
export const DIST = join(WEB, 'dist');
export const ARTIFACTS = join(WEB, 'test-artifacts');
mkdirSync(ARTIFACTS, { recursive: true });

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.ts': 'text/plain; charset=utf-8',
};

/** Serves web/dist on a free loopback port, like `python3 -m http.server -d web/dist`. */
export async function serve() {
  const server = createServer(async (req, res) => {
    try {
      let path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
      if (path.endsWith('/')) path += 'index.html';
      const file = normalize(join(DIST, path));
      if (!file.startsWith(DIST) || !(await stat(file)).isFile()) throw new Error('not found');
      res.writeHead(200, { 'content-type': TYPES[extname(file)] || 'application/octet-stream', 'cache-control': 'no-cache' });
      res.end(await readFile(file));
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${server.address().port}/`;
  return { url, close: () => new Promise((ok) => server.close(ok)) };
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

/** Opens the page and waits until Grove has rendered it. */
export async function open(context, url) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(new Error(m.text())); });
  await page.goto(url);
  await page.waitForSelector('html[data-ready="true"]');
  page.errors = errors;
  return page;
}

/** Replaces the title by typing it, one key at a time, as a person would. */
export async function typeTitle(page, title) {
  await page.click('#title');
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.keyboard.type(title);
}

/**
 * A fleet of `count` instances, as path → text: two edx-platform forks, every tenth instance
 * out of batch upgrades, each with its own requirements.
 */
export function bigFleet(count = 100) {
  const files = {
    'grove.yml': 'PIPELINE_PATCHES:\n  deploy-job: |\n    retry: 1\n',
    'defaults/grove-requirements.txt': 'tutor==19.0.0\n',
  };
  for (let i = 1; i <= count; i++) {
    const name = `school-${String(i).padStart(3, '0')}`;
    const fork = i % 3 === 0 ? 'open-craft' : 'openedx';
    const release = i % 3 === 0 ? 'opencraft-release/sumac.1' : 'open-release/sumac.1';
    files[`instances/${name}/config.yml`] = `LMS_HOST: ${name}.example.org\nEDX_PLATFORM_REPOSITORY: https://github.com/${fork}/edx-platform.git\nEDX_PLATFORM_VERSION: ${release}\n`;
    files[`instances/${name}/grove.yml`] = `BATCH_UPGRADE_DISABLED: ${i % 10 === 0}\n`;
    files[`instances/${name}/grove-requirements.txt`] = `tutor==19.0.${i % 4}\n`;
  }
  return files;
}
