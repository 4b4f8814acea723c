// The preview page in a real browser (Debian's Chromium through playwright-core), served from
// web/dist as a user would serve it. Run by scripts/test-web after scripts/build-web.
//
// Screenshots go to web/test-artifacts/.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ARTIFACTS, PROJECT, bigFleet, browser, open, serve, typeTitle } from './harness.mjs';

let server;
let chrome;

before(async () => {
  server = await serve();
  chrome = await browser();
});

after(async () => {
  await chrome?.close();
  await server?.close();
});

const golden = (name) => readFileSync(join(PROJECT, 'tests/titles', name), 'utf8');

test('a typed title shows the YAML of the CLI, the plan and the graph', async () => {
  const page = await open(chrome.context, server.url);
  const title = golden('04-update.title').replace(/\n$/, '');
  await typeTitle(page, title);
  assert.equal(await page.inputValue('#title'), title);
  assert.equal(await page.textContent('#yaml'), golden('04-update.yml'));
  assert.equal(await page.textContent('#plan-text'), golden('04-update.plan.txt'));
  assert.equal(await page.textContent('#plan-json'), golden('04-update.plan.json'));
  assert.match(await page.textContent('#status'), /update · 6 jobs in 6 stages/);
  assert.equal(await page.locator('#graph svg .job').count(), 6);
  // Each step needs the one before; predeploy and deploy also need prepare (its artifacts).
  assert.equal(await page.locator('#graph svg .edges path').count(), 8);
  const stages = await page.locator('#graph svg text.stage').allTextContents();
  assert.deepEqual(stages, ['venv', 'prepare', 'image', 'predeploy', 'deploy', 'postdeploy']);
  const deploy = page.locator('#graph svg path[data-to="deploy:campus"]');
  assert.deepEqual(await deploy.evaluateAll((paths) => paths.map((p) => p.dataset.from)), ['predeploy:campus', 'prepare:campus']);

  // What a batch upgrade leaves out is said in words.
  await page.click('text=Batch upgrade');
  assert.match(await page.textContent('#plan'), /Left out, and why:\s*library: BATCH_UPGRADE_DISABLED is true in instances\/library\/grove\.yml/);
  assert.equal(await page.textContent('#yaml'), golden('07-batch-upgrade.yml'));
  await page.screenshot({ path: join(ARTIFACTS, 'page.png'), fullPage: true });
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a bad title is underlined under exactly the offending characters', async () => {
  const page = await open(chrome.context, server.url);
  // Two bad names, one with a two-byte character and one with a four-byte one (two UTF-16 units).
  await typeTitle(page, '[AutoDeploy][Update] café,🌲grove');
  const marks = await page.locator('#mirror mark.error').allTextContents();
  assert.deepEqual(marks, ['é', '🌲']);
  const items = await page.locator('#diagnostics li.error .message').allTextContents();
  assert.equal(items.length, 2);
  assert.match(items[0], /character 'é' is not allowed in an instance name/);
  assert.equal(await page.textContent('#yaml'), '');
  assert.match(await page.textContent('#status'), /would exit 5: invalid commit title/);
  // The mirror lies exactly under the textarea, so the underline is under the typed characters.
  const [area, mirror] = await Promise.all([page.locator('#title').boundingBox(), page.locator('#mirror').boundingBox()]);
  assert.deepEqual(mirror, area);
  const mark = await page.locator('#mirror mark.error').first().boundingBox();
  assert.ok(mark.x > area.x && mark.x + mark.width < area.x + area.width && mark.y > area.y && mark.y < area.y + area.height);
  // Where the underline is, the textarea has the same character: select it there and compare.
  const selected = await page.evaluate(() => {
    const li = document.querySelector('#diagnostics li');
    li.click();
    const t = document.getElementById('title');
    return t.value.slice(t.selectionStart, t.selectionEnd);
  });
  assert.equal(selected, 'é');
  await page.screenshot({ path: join(ARTIFACTS, 'page-error.png') });

  // A point (an empty item) gets a caret; a misspelled type its whole name.
  await typeTitle(page, '[AutoDeploy][Update] campus,,labs');
  assert.equal(await page.locator('#mirror .point.error').count(), 1);
  await typeTitle(page, '[AutoDeploy][Updte] campus');
  assert.deepEqual(await page.locator('#mirror mark.error').allTextContents(), ['Updte']);
  assert.match(await page.textContent('#diagnostics'), /did you mean \[Update\]\?/);
  // A failure that is not about the title is shown whole, with the CLI's exit code.
  await typeTitle(page, '[AutoDeploy][Update] nowhere');
  assert.equal(await page.locator('#mirror mark').count(), 0);
  assert.match(await page.textContent('#status'), /would exit 3/);
  assert.match(await page.textContent('#plan'), /no such instance "nowhere" in instances\//);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a share link reproduces the view, with an edited fleet', async () => {
  const page = await open(chrome.context, server.url);
  await typeTitle(page, '[AutoDeploy][Update] research|7, academy');
  // Edit the demo fleet in the page: a new instance.
  await page.click('#files-details summary');
  await page.fill('#new-path', 'instances/extra/config.yml');
  await page.click('#add-file');
  await page.fill('#file-text', 'LMS_HOST: extra.example.org\n');
  await page.waitForFunction(() => document.getElementById('instance-count')?.textContent === '8');
  await typeTitle(page, '[AutoDeploy][Update] extra|9,campus');
  await page.waitForFunction(() => location.hash.includes('f=') && decodeURIComponent(location.hash).includes('extra|9'));
  const link = page.url();
  const yaml = await page.textContent('#yaml');
  assert.match(yaml, /deploy:extra/);

  const other = await open(chrome.context, link);
  assert.equal(await other.inputValue('#title'), '[AutoDeploy][Update] extra|9,campus');
  assert.equal(await other.textContent('#yaml'), yaml);
  assert.equal(await other.textContent('#instance-count'), '8');
  assert.match(await other.textContent('#fleet-label'), /edited/);

  // The demo fleet is not put in links; the title alone is.
  await other.click('#reset-fleet');
  await typeTitle(other, '[AutoDeploy][Archive] staging,labs');
  await other.waitForFunction(() => !location.hash.includes('f=') && location.hash.includes('Archive'));
  const third = await open(chrome.context, other.url());
  assert.equal(await third.textContent('#yaml'), golden('06-archive.yml'));
  assert.deepEqual([...page.errors, ...other.errors, ...third.errors], []);
  await Promise.all([page.close(), other.close(), third.close()]);
});

const webhookGolden = (name) => readFileSync(join(PROJECT, 'tests/webhooks', name), 'utf8');

test('a pasted webhook payload shows the pipeline of grove webhookpipeline, and links keep it', async () => {
  const page = await open(chrome.context, server.url);
  await page.click('#mode-webhook');
  assert.equal(await page.isVisible('#title'), false);
  // Paste a pull request payload: its preview environment, as the CLI writes it.
  await page.fill('#payload', webhookGolden('github-pr-opened.json'));
  assert.equal(await page.textContent('#yaml'), webhookGolden('github-pr-opened.yml'));
  assert.equal(await page.textContent('#plan-text'), webhookGolden('github-pr-opened.plan.txt'));
  assert.match(await page.textContent('#status'), /preview-up · \d+ jobs?/);
  assert.ok((await page.locator('#graph svg .job').count()) > 0);
  // An example button: a push to the cluster repository is its head commit's title.
  await page.click('text=GitLab push to the cluster');
  assert.equal(await page.textContent('#yaml'), webhookGolden('gitlab-push-cluster.yml'));
  // What Grove cannot read is an error with the CLI's exit code, and no pipeline.
  await page.fill('#payload', '{"object_kind": "push", ');
  assert.match(await page.textContent('#status'), /grove webhookpipeline would exit 5: invalid webhook payload/);
  assert.match(await page.textContent('#plan'), /invalid webhook payload: not JSON/);
  assert.equal(await page.textContent('#yaml'), '');
  await page.screenshot({ path: join(ARTIFACTS, 'page-webhook.png'), fullPage: true });

  // A link reproduces the payload view.
  await page.fill('#payload', webhookGolden('gitlab-mr-merge.json'));
  await page.waitForFunction(() => location.hash.includes('m=webhook') && location.hash.includes('p='));
  const other = await open(chrome.context, page.url());
  assert.equal(await other.getAttribute('#mode-webhook', 'aria-selected'), 'true');
  assert.equal(await other.inputValue('#payload'), webhookGolden('gitlab-mr-merge.json'));
  assert.equal(await other.textContent('#yaml'), webhookGolden('gitlab-mr-merge.yml'));
  // Back to titles.
  await other.click('#mode-title');
  assert.equal(await other.isVisible('#title'), true);
  await typeTitle(other, golden('04-update.title').replace(/\n$/, ''));
  assert.equal(await other.textContent('#yaml'), golden('04-update.yml'));
  assert.deepEqual([...page.errors, ...other.errors], []);
  await Promise.all([page.close(), other.close()]);
});

test('a plan too big for one file shows its shard files', async () => {
  const page = await open(chrome.context, server.url);
  await page.evaluate((files) => window.grove.loadFleet(files, 'big fleet'), bigFleet(100));
  await typeTitle(page, '[AutoDeploy][Batch][UpgradeTo] 0123456789abcdef');
  assert.match(await page.textContent('#status'), /batch-upgrade-to · 5 jobs in \d stages · triggers 2 shard pipelines \(540 jobs\)/);
  const options = await page.locator('#yaml-file option').allTextContents();
  assert.deepEqual(options, [
    'generated.yml · 5 jobs',
    'generated-shards/shard-1.yml · 498 jobs',
    'generated-shards/shard-2.yml · 42 jobs',
  ]);
  const generated = await page.textContent('#yaml');
  assert.match(generated, /artifact: "generated-shards\/shard-1\.yml"/);
  await page.selectOption('#yaml-file', 'generated-shards/shard-2.yml');
  const shard = await page.textContent('#yaml');
  assert.match(shard, /^# Generated by Grove/);
  assert.match(shard, /deploy:school-099:/);
  assert.doesNotMatch(shard, /deploy:school-001:/);
  // The chosen file stays shown while the title changes, and goes when there are no shards.
  await page.keyboard.type('0');
  assert.match(await page.textContent('#yaml'), /deploy:school-099:/);
  await typeTitle(page, '[AutoDeploy][Update] school-001');
  assert.equal(await page.isVisible('#yaml-file'), false);
  assert.match(await page.textContent('#yaml'), /deploy:school-001:/);
  assert.deepEqual(page.errors, []);
  await page.close();
});

/** A cluster repository on disk, with files Grove must ignore. */
function clusterFolder() {
  const root = join(mkdtempSync(join(tmpdir(), 'grove-drop-')), 'mycluster');
  const write = (path, text) => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  write('README.md', '# my cluster\n');
  write('grove.yml', 'PIPELINE_IMAGE: registry.example.org/grove:1\n');
  write('instances/alpha/config.yml', 'LMS_HOST: alpha.example.org\nEDX_PLATFORM_REPOSITORY: https://github.com/openedx/edx-platform.git\nEDX_PLATFORM_VERSION: open-release/sumac.1\n');
  write('instances/alpha/grove-requirements.txt', 'tutor==19.0.0\n');
  write('instances/alpha/.venv/pyvenv.cfg', 'home = /usr/bin\n');
  write('instances/alpha/env/apps/openedx/config/lms.env.yml', 'SECRET_KEY: x\n');
  write('instances/beta/config.yml', 'LMS_HOST: beta.example.org\nEDX_PLATFORM_REPOSITORY: https://github.com/openedx/edx-platform.git\n');
  write('instances/beta/grove.yml', 'BATCH_UPGRADE_DISABLED: true\n');
  return root;
}

test('a chosen folder becomes the fleet, reading only what Grove reads', async () => {
  const page = await open(chrome.context, server.url);
  const root = clusterFolder();
  await page.setInputFiles('#folder', root);
  await page.waitForFunction(() => document.getElementById('instance-count')?.textContent === '2');
  assert.match(await page.textContent('#fleet-label'), /mycluster \(dropped, 5 files read, 2 left alone\)/);
  assert.match(await page.textContent('#fleet-summary'), /alpha\s+beta/);
  await typeTitle(page, '[AutoDeploy][Update] alpha,beta');
  const yaml = await page.textContent('#yaml');
  assert.match(yaml, /deploy:alpha/);
  assert.match(yaml, /deploy:beta/);
  assert.match(yaml, /registry\.example\.org\/grove:1/);
  await typeTitle(page, '[AutoDeploy][Update] campus');
  assert.match(await page.textContent('#status'), /would exit 3/);
  const files = await page.locator('#file-select option').allTextContents();
  assert.deepEqual(files, [
    'grove.yml',
    'instances/alpha/config.yml',
    'instances/alpha/grove-requirements.txt',
    'instances/beta/config.yml',
    'instances/beta/grove.yml',
  ]);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a dropped instances/ folder becomes the fleet', async () => {
  const page = await open(chrome.context, server.url);
  // Chromium cannot be made to drag files from the disk, so the drop carries directory entries
  // built from a real folder, with the same interface as FileSystemDirectoryEntry.
  const root = join(clusterFolder(), 'instances');
  const tree = {};
  const read = (dir, into) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) read(join(dir, entry.name), (into[entry.name] = {}));
      else into[entry.name] = readFileSync(join(dir, entry.name), 'utf8');
    }
  };
  read(root, tree);
  await page.evaluate((tree) => {
    const entry = (name, node, parent) => {
      const fullPath = `${parent}/${name}`;
      if (typeof node === 'string') {
        return { name, fullPath, isFile: true, isDirectory: false, file: (ok) => ok(new File([node], name)) };
      }
      const children = Object.entries(node).map(([n, c]) => entry(n, c, fullPath));
      return {
        name, fullPath, isFile: false, isDirectory: true,
        createReader: () => { let done = false; return { readEntries: (ok) => { ok(done ? [] : children); done = true; } }; },
      };
    };
    const root = entry('instances', tree, '');
    const drop = new Event('drop', { bubbles: true, cancelable: true });
    Object.defineProperty(drop, 'dataTransfer', { value: { items: [{ webkitGetAsEntry: () => root }], files: [] } });
    document.getElementById('drop').dispatchEvent(drop);
  }, tree);
  await page.waitForFunction(() => document.getElementById('instance-count')?.textContent === '2');
  assert.match(await page.textContent('#fleet-label'), /^instances \(dropped, 4 files read, 1 left alone\)/);
  await typeTitle(page, '[AutoDeploy][Batch][UpgradeTo] 0123abcd');
  assert.match(await page.textContent('#plan'), /alpha/);
  assert.match(await page.textContent('#plan'), /Left out, and why:\s*beta: BATCH_UPGRADE_DISABLED/);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('the page works offline once loaded', async () => {
  const page = await open(chrome.context, server.url);
  await page.evaluate(() => navigator.serviceWorker.ready);
  await chrome.context.setOffline(true);
  try {
    const offline = await open(chrome.context, `${server.url}#t=${encodeURIComponent('[AutoDeploy][Archive] staging,labs')}`);
    assert.equal(await offline.textContent('#yaml'), golden('06-archive.yml'));
    await offline.close();
  } finally {
    await chrome.context.setOffline(false);
  }
  await page.close();
});
