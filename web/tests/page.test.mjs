// The playground in a real browser (Debian's Chromium through playwright-core), served from
// web/dist by web/serve.py as a user would serve it. Run by scripts/test-web after
// scripts/build-web.
//
// Screenshots go to web/test-artifacts/.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { ARTIFACTS, DIST, PROJECT, bigFleet, browser, open, serve, settle, typeTitle } from './harness.mjs';

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

/** A file of the golden cases, as written: `tests/DIR/FILE`. */
const caseFile = (dir, file) => readFileSync(join(PROJECT, 'tests', dir, file), 'utf8');
/**
 * A reviewed output of a golden case (`04-update.yml`): the insta snapshot `FILE.snap` after its
 * header (`---`, where it comes from, `---`), as the CLI's tests read it (cli/tests/common).
 */
const output = (dir, file) => caseFile(dir, `${file}.snap`).replace(/^---\n[\s\S]*?\n---\n/, '');
/** The commit title of the golden case `tests/titles/NAME.title`. */
const titleOf = (name) => caseFile('titles', `${name}.title`).replace(/\n$/, '');
/** The payload of the golden case `tests/webhooks/NAME.json`. */
const payloadOf = (name) => caseFile('webhooks', `${name}.json`);
const golden = (file) => output('titles', file);
const webhookGolden = (file) => output('webhooks', file);
/**
 * A fleet whose batch upgrade is too big for one pipeline file (GitLab.com's 500 jobs): 270
 * instances to deploy, two jobs each, in two shard pipelines.
 */
const SHARDED = 300;

/** The lines of `yaml` that are the job `name`'s: from its name to the blank line after it. */
function jobPart(yaml, name) {
  const start = yaml.indexOf(`\n${name}:\n`) + 1;
  assert.ok(start > 0, `${name} is in the YAML`);
  const end = yaml.indexOf('\n\n', start);
  return yaml.slice(start, end < 0 ? yaml.trimEnd().length : end);
}

/**
 * The graph as drawn: its boxes, its lines (each sampled every pixel along its length), and
 * every problem with them: a line that passes through a box it does not join, leaves the
 * picture, or cannot be seen.
 */
function graphGeometry(page) {
  return page.evaluate(() => {
    const svg = document.querySelector('#graph svg');
    const view = svg.viewBox.baseVal;
    const boxes = [...svg.querySelectorAll('[data-node]')].map((g) => {
      const r = g.querySelector('rect');
      return { id: g.dataset.node, x: +r.getAttribute('x'), y: +r.getAttribute('y'), w: +r.getAttribute('width'), h: +r.getAttribute('height'), label: g.querySelector('text').textContent };
    });
    const problems = [];
    const lines = [...svg.querySelectorAll('.edges path')].map((path) => {
      const line = { from: path.dataset.from, to: path.dataset.to, length: path.getTotalLength(), stroke: getComputedStyle(path).stroke };
      if (!(line.length > 4) || line.stroke === 'none') problems.push(`${line.from} → ${line.to} cannot be seen`);
      for (let t = 0; t <= line.length; t += 1) {
        const { x, y } = path.getPointAtLength(t);
        if (x < 0 || y < 0 || x > view.width || y > view.height) {
          problems.push(`${line.from} → ${line.to} leaves the picture at ${x},${y}`);
          break;
        }
        const hit = boxes.find((b) => b.id !== line.from && b.id !== line.to && x > b.x + 0.5 && x < b.x + b.w - 0.5 && y > b.y + 0.5 && y < b.y + b.h - 0.5);
        if (hit) {
          problems.push(`${line.from} → ${line.to} passes through ${hit.id} at ${x.toFixed(1)},${y.toFixed(1)}`);
          break;
        }
      }
      return line;
    });
    const background = getComputedStyle(document.getElementById('graph')).backgroundColor;
    return { boxes, lines, problems, background };
  });
}

/** Asserts that each column of the graph lists its jobs in the order of the YAML. */
function assertFileOrder(boxes, yaml) {
  const columns = new Map();
  for (const box of boxes) {
    if (!columns.has(box.x)) columns.set(box.x, []);
    columns.get(box.x).push(box);
  }
  for (const column of columns.values()) {
    const names = column.sort((a, b) => a.y - b.y).map((b) => b.id);
    const at = names.map((name) => yaml.indexOf(`\n${name}:\n`));
    assert.ok(at.every((i) => i > 0), `every job of ${names} is in the YAML`);
    assert.deepEqual([...at].sort((a, b) => a - b), at, `${names.join(', ')} are in file order`);
  }
}

/** The contrast ratio (WCAG) of two CSS colours `rgb(r, g, b)`. */
function contrast(a, b) {
  const luminance = (css) => {
    const [r, g, bl] = css.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number).map((v) => v / 255)
      .map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/** The graph is drawn in file order, every need is a line that can be seen, and none crosses a box. */
async function assertTruthfulGraph(page) {
  const geometry = await graphGeometry(page);
  assert.deepEqual(geometry.problems, []);
  assertFileOrder(geometry.boxes, await page.textContent('#yaml'));
  const graph = await page.evaluate(() => window.grove.state.pipeline.graph);
  const needs = graph.jobs.flatMap((job) => job.needs.map((need) => `${need} → ${job.name}`)).sort();
  assert.deepEqual(geometry.lines.map((l) => `${l.from} → ${l.to}`).sort(), needs);
  for (const line of geometry.lines) assert.ok(contrast(line.stroke, geometry.background) >= 3, `${line.stroke} on ${geometry.background}`);
  return geometry;
}

test('a typed title shows the YAML of the CLI, the plan and the graph', async () => {
  const page = await open(chrome.context, server.url);
  const title = titleOf('04-update');
  await typeTitle(page, title);
  assert.equal(await page.inputValue('#title'), title);
  assert.equal(await page.textContent('#yaml'), golden('04-update.yml'));
  assert.equal(await page.textContent('#plan-text'), golden('04-update.plan.txt'));
  assert.equal(await page.textContent('#plan-json'), golden('04-update.plan.json'));
  assert.equal(await page.textContent('#status'), 'Update · 3 jobs in 3 stages');
  assert.equal(await page.locator('#graph svg .job').count(), 3);
  // A chain: the venv of the instance's requirements, its build, its release.
  assert.equal(await page.locator('#graph svg .edges path').count(), 2);
  const stages = await page.locator('#graph svg text.stage').allTextContents();
  assert.deepEqual(stages, ['venv', 'build', 'release']);
  const from = (to) => page.locator(`#graph svg path[data-to="${to}"]`).evaluateAll((paths) => paths.map((p) => p.dataset.from));
  assert.deepEqual(await from('build:campus'), ['venv:1']);
  assert.deepEqual(await from('release:campus'), ['build:campus']);
  await assertTruthfulGraph(page);

  // What a batch upgrade leaves out is said in words.
  await page.click('text=Batch upgrade');
  await settle(page);
  assert.equal(await page.textContent('#status'), 'Batch upgrade · 10 jobs in 4 stages');
  assert.match(await page.textContent('#plan'), /Left out, and why:\s*library: BATCH_UPGRADE_DISABLED is true in instances\/library\/grove\.yml/);
  assert.equal(await page.textContent('#yaml'), golden('07-batch-upgrade.yml'));
  await page.screenshot({ path: join(ARTIFACTS, 'page.png'), fullPage: true });
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('every golden title gives the YAML of the CLI, and its kind of plan in words', async () => {
  const kinds = {
    '01-no-autodeploy': 'Nothing to deploy',
    '02-infrastructure': 'Infrastructure',
    '03-create': 'Create',
    '04-update': 'Update',
    '05-update-many': 'Update',
    '06-archive': 'Archive',
    '07-batch-upgrade': 'Batch upgrade',
    '08-batch-upgrade-to': 'Batch upgrade to a commit',
    '09-older-create': 'Create',
    '10-older-update': 'Update',
    '11-batch-matches-nothing': 'Batch upgrade', // of no instance: its plan says Nothing to deploy
    '12-delete': 'Delete',
    '13-build-image': 'Build image',
  };
  const names = readdirSync(join(PROJECT, 'tests', 'titles')).filter((f) => f.endsWith('.title')).map((f) => f.slice(0, -'.title'.length)).sort();
  assert.deepEqual(names, Object.keys(kinds), 'every golden title has its kind here');
  const page = await open(chrome.context, server.url);
  for (const [name, kind] of Object.entries(kinds)) {
    await typeTitle(page, titleOf(name));
    assert.equal(await page.textContent('#yaml'), golden(`${name}.yml`), name);
    assert.equal(await page.textContent('#plan-text'), golden(`${name}.plan.txt`), name);
    assert.match(await page.textContent('#status'), new RegExp(`^${kind} · \\d+ jobs? in \\d+ stages?$`), name);
  }
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('the graph tells the truth: file order, needs inside a stage, lines around boxes', async () => {
  const page = await open(chrome.context, server.url);
  // Infrastructure: terraform:plan above terraform:apply, as in the file, and the need between
  // them a line from one box to the other, inside the picture.
  await typeTitle(page, titleOf('02-infrastructure'));
  const infra = await assertTruthfulGraph(page);
  const [plan, apply] = ['terraform:plan', 'terraform:apply'].map((id) => infra.boxes.find((b) => b.id === id));
  assert.ok(plan.y < apply.y && plan.x === apply.x, 'plan above apply, in one column');
  assert.deepEqual(infra.lines.map((l) => [l.from, l.to]), [['terraform:plan', 'terraform:apply']]);
  await page.locator('#graph').screenshot({ path: join(ARTIFACTS, 'graph-infrastructure.png') });

  // Create: Terraform's apply reaches every build two columns on, around the venv box in the
  // column between them.
  await typeTitle(page, titleOf('03-create'));
  assert.equal(await page.textContent('#yaml'), golden('03-create.yml'));
  const create = await assertTruthfulGraph(page);
  const x = (geometry, id) => geometry.boxes.find((b) => b.id === id).x;
  const builds = create.boxes.filter((b) => b.id.startsWith('build:')).map((b) => b.id).sort();
  assert.deepEqual(builds, ['build:campus', 'build:newcampus']);
  assert.deepEqual(create.lines.filter((l) => l.from === 'terraform:apply').map((l) => l.to).sort(), builds);
  for (const build of builds) {
    assert.ok(x(create, 'terraform:apply') < x(create, 'venv:1') && x(create, 'venv:1') < x(create, build), `venv:1 lies between terraform:apply and ${build}`);
  }
  await page.locator('#graph').screenshot({ path: join(ARTIFACTS, 'graph-create.png') });

  // The base images fan out to the builds of their instances, past the column of the venvs
  // (each shared by the instances of one requirements set), crossing no box.
  await typeTitle(page, titleOf('07-batch-upgrade'));
  const batch = await assertTruthfulGraph(page);
  const batchBuilds = batch.boxes.filter((b) => b.id.startsWith('build:')).map((b) => b.id).sort();
  assert.deepEqual(batchBuilds, ['build:academy', 'build:campus', 'build:labs']);
  assert.deepEqual(batch.lines.filter((l) => l.from.startsWith('base-image:')).map((l) => l.to).sort(), batchBuilds);
  assert.ok(x(batch, 'base-image:1') < x(batch, 'venv:1') && x(batch, 'venv:1') < x(batch, 'build:academy'));
  assert.deepEqual(batch.lines.filter((l) => l.from === 'venv:1').map((l) => l.to).sort(), ['build:academy', 'build:campus']);
  await page.locator('#graph').screenshot({ path: join(ARTIFACTS, 'graph-batch.png') });

  // A sharded batch: the generated pipeline, and a shard drawn job by job.
  await page.evaluate((files) => window.grove.loadFleet(files, 'big fleet'), bigFleet(SHARDED));
  await typeTitle(page, '[AutoDeploy][Batch][UpgradeTo] 0123456789abcdef');
  const generated = await assertTruthfulGraph(page);
  assert.deepEqual(generated.boxes.map((b) => b.id), ['base-image:1', 'base-image:2', 'grove-shards', 'grove-shard:1', 'grove-shard:2']);
  await page.selectOption('#pipeline-file', 'generated-shards/shard-2.yml');
  await settle(page);
  await page.check('input[name="graph-mode"][value="jobs"]');
  const shard = await assertTruthfulGraph(page);
  // Its four venvs (one per requirements set), and 22 instances' builds and releases.
  assert.equal(shard.boxes.length, 48);
  assert.deepEqual(shard.boxes.filter((b) => b.id.startsWith('venv:')).map((b) => b.id), ['venv:1', 'venv:2', 'venv:3', 'venv:4']);
  // By instance: the venvs stay boxes of their own, shared by the instances' boxes (in two
  // columns), and a line from one of them to each instance crosses no box.
  await page.check('input[name="graph-mode"][value="instance"]');
  const instances = await graphGeometry(page);
  assert.deepEqual(instances.problems, []);
  assert.equal(instances.boxes.length, 26);
  assert.equal(new Set(instances.boxes.filter((b) => b.id.startsWith('instance ')).map((b) => b.x)).size, 2);
  assert.deepEqual(instances.lines.map((l) => l.to).sort(), instances.boxes.filter((b) => b.id.startsWith('instance ')).map((b) => b.id).sort());
  assert.ok(instances.lines.every((l) => l.from.startsWith('venv:')));
  await page.locator('#graph').screenshot({ path: join(ARTIFACTS, 'graph-shard-2-by-instance.png') });
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('the shard pipelines are drawn, and a trigger job leads to its shard', async () => {
  const page = await open(chrome.context, server.url);
  await page.evaluate((files) => window.grove.loadFleet(files, 'big fleet'), bigFleet(SHARDED));
  await typeTitle(page, '[AutoDeploy][Batch][UpgradeTo] 0123456789abcdef');
  // The words of the page, not of the code.
  assert.equal(await page.textContent('#status'), 'Batch upgrade to a commit · 5 jobs in 2 stages · triggers 2 shard pipelines (548 jobs)');
  const options = await page.locator('#pipeline-file option').allTextContents();
  assert.deepEqual(options, ['generated.yml · 5 jobs', 'generated-shards/shard-1.yml · 500 jobs', 'generated-shards/shard-2.yml · 48 jobs']);
  assert.match(await page.textContent('#yaml'), /artifact: "generated-shards\/shard-1\.yml"/);
  // The trigger job: marked as one, its part of the YAML, and a way to its shard.
  assert.equal(await page.locator('#graph [data-node="grove-shard:1"].trigger').count(), 1);
  await page.click('#graph [data-node="grove-shard:1"]');
  assert.equal(await page.isVisible('#job'), true);
  assert.equal(await page.textContent('#job-title'), 'grove-shard:1');
  assert.equal(await page.textContent('#job-yaml'), jobPart(await page.textContent('#yaml'), 'grove-shard:1'));
  assert.match(await page.textContent('#job-shard'), /^Show generated-shards\/shard-1\.yml \(500 jobs\)/);
  await page.click('#job-shard');
  await settle(page);
  assert.equal(await page.inputValue('#pipeline-file'), 'generated-shards/shard-1.yml');
  const shard = await page.textContent('#yaml');
  assert.match(shard, /^# Generated by Grove/);
  assert.match(shard, /\nrelease:school-001:\n/);
  // 500 jobs are drawn by stage, with counts; by instance, one box per instance (the venvs,
  // each shared by many instances, stay boxes of their own); or every job.
  assert.equal(await page.textContent('#graph-count'), '500 jobs, drawn as 3 boxes');
  assert.deepEqual(await page.locator('#graph .job text').allTextContents(), ['venv · 4', 'build · 248', 'release · 248']);
  assert.deepEqual(await page.locator('#graph text.stage').allTextContents(), ['venv · 4 jobs', 'build · 248 jobs', 'release · 248 jobs']);
  await page.locator('#outputs').screenshot({ path: join(ARTIFACTS, 'graph-shard-by-stage.png') });
  await page.check('input[name="graph-mode"][value="instance"]');
  assert.equal(await page.textContent('#graph-count'), '500 jobs, drawn as 252 boxes');
  assert.equal(await page.locator('#graph .job.group').count(), 248);
  assert.deepEqual(await page.locator('#graph .job:not(.group)').evaluateAll((boxes) => boxes.map((b) => b.dataset.node)), ['venv:1', 'venv:2', 'venv:3', 'venv:4']);
  assert.equal(await page.textContent('#graph [data-node="instance school-001"] text'), 'school-001 · 2');
  // One line from its venv to each instance.
  assert.equal(await page.locator('#graph .edges path[data-from^="venv:"][data-to^="instance "]').count(), 248);
  assert.equal(await page.locator('#graph .edges path').count(), 248);
  await page.click('#graph [data-node="instance school-001"]');
  assert.match(await page.textContent('#job-facts'), /^2 jobs: build → release, in generated-shards\/shard-1\.yml\.$/);
  const yaml = await page.textContent('#yaml');
  assert.equal(await page.textContent('#job-yaml'), `${jobPart(yaml, 'build:school-001')}\n\n${jobPart(yaml, 'release:school-001')}`);
  await page.locator('#outputs').screenshot({ path: join(ARTIFACTS, 'graph-shard-by-instance.png') });
  await page.check('input[name="graph-mode"][value="jobs"]');
  assert.equal(await page.locator('#graph .job').count(), 500);
  // The chosen file stays shown while the title changes, and goes when there are no shards.
  await page.selectOption('#pipeline-file', 'generated-shards/shard-2.yml');
  await settle(page);
  await page.click('#title');
  await page.keyboard.press('End');
  await page.keyboard.type('0');
  await settle(page);
  assert.match(await page.textContent('#yaml'), /\nrelease:school-297:\n/);
  assert.doesNotMatch(await page.textContent('#yaml'), /school-001:/);
  await typeTitle(page, '[AutoDeploy][Update] school-001');
  assert.equal(await page.isVisible('#pipeline-file'), false);
  assert.match(await page.textContent('#yaml'), /\nrelease:school-001:\n/);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a job shows its part of the YAML, by mouse and by keyboard', async () => {
  const page = await open(chrome.context, server.url);
  await typeTitle(page, titleOf('04-update'));
  const yaml = golden('04-update.yml');
  await page.click('#graph [data-node="build:campus"]');
  assert.equal(await page.textContent('#job-title'), 'build:campus');
  assert.equal(await page.textContent('#job-yaml'), jobPart(yaml, 'build:campus'));
  assert.match(await page.textContent('#job-facts'), /^Stage build · needs venv:1 · needed by release:campus, lines \d+–\d+ of generated\.yml\.$/);
  assert.deepEqual(await page.locator('#graph path.hl').evaluateAll((paths) => paths.map((p) => `${p.dataset.from} → ${p.dataset.to}`).sort()),
    ['build:campus → release:campus', 'venv:1 → build:campus']);
  await page.click('#job-close');
  assert.equal(await page.isVisible('#job'), false);

  // By keyboard: the graph is one Tab stop (the box last used); arrows move between jobs;
  // Enter shows one.
  await page.focus('#title');
  for (let i = 0; i < 40 && !(await page.evaluate(() => !!document.activeElement.closest('#graph'))); i++) await page.keyboard.press('Tab');
  const focused = () => page.evaluate(() => document.activeElement.dataset.node);
  assert.equal(await focused(), 'build:campus');
  await page.keyboard.press('Home');
  assert.equal(await focused(), 'venv:1');
  await page.keyboard.press('Enter');
  assert.equal(await page.textContent('#job-title'), 'venv:1');
  assert.equal(await page.textContent('#job-yaml'), jobPart(yaml, 'venv:1'));
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  assert.equal(await focused(), 'release:campus');
  await page.keyboard.press('ArrowLeft');
  assert.equal(await focused(), 'build:campus');
  await page.keyboard.press('End');
  assert.equal(await focused(), 'release:campus');
  await page.keyboard.press(' ');
  assert.equal(await page.textContent('#job-title'), 'release:campus');
  assert.equal(await page.textContent('#job-yaml'), jobPart(yaml, 'release:campus'));
  assert.equal(await page.locator('#graph [data-node][tabindex="0"]').count(), 1);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a bad title is underlined under exactly the offending characters, an unknown instance too', async () => {
  const page = await open(chrome.context, server.url);
  // Two bad names, one with a two-byte character and one with a four-byte one (two UTF-16 units).
  await typeTitle(page, '[AutoDeploy][Update] café,🌲grove');
  const marks = await page.locator('#mirror mark.error').allTextContents();
  assert.deepEqual(marks, ['é', '🌲']);
  const items = await page.locator('#diagnostics .error .message').allTextContents();
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
  await page.click('#diagnostics .diagnostic >> nth=1');
  const selected = () => page.evaluate(() => { const t = document.getElementById('title'); return t.value.slice(t.selectionStart, t.selectionEnd); });
  assert.equal(await selected(), '🌲');
  await page.screenshot({ path: join(ARTIFACTS, 'page-error.png') });

  // A point (an empty item) gets a caret; a misspelled type its whole name.
  await typeTitle(page, '[AutoDeploy][Update] campus,,labs');
  assert.equal(await page.locator('#mirror .point.error').count(), 1);
  await typeTitle(page, '[AutoDeploy][Updte] campus');
  assert.deepEqual(await page.locator('#mirror mark.error').allTextContents(), ['Updte']);
  assert.match(await page.textContent('#diagnostics'), /did you mean \[Update\]\?/);
  // An instance the fleet does not have is underlined like any other mistake, with the CLI's
  // exit code and whole message.
  await typeTitle(page, '[AutoDeploy][Update] campus,nowhere,reserch');
  assert.deepEqual(await page.locator('#mirror mark.error').allTextContents(), ['nowhere', 'reserch']);
  assert.match(await page.textContent('#diagnostics'), /no such instance "reserch" in instances\/\s*did you mean research\?/);
  assert.match(await page.textContent('#status'), /would exit 3/);
  assert.match(await page.textContent('#plan'), /no such instances "nowhere", "reserch" in instances\//);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a config error is marked in the file editor at its line, and said once', async () => {
  const page = await open(chrome.context, server.url);
  await page.click('#files-details summary');
  await page.selectOption('#file-select', 'grove.yml');
  const text = await page.inputValue('#file-text');
  await page.fill('#file-text', 'PIPELINE_IMAGE: registry.example.org/grove:1\nLIMITS:\n  jobs_per_pipeline: many\n');
  await settle(page);
  const line = 3;
  assert.match(await page.textContent('#status'), new RegExp(`grove\\.yml has an error \\(line ${line}, column \\d+\\), marked in the file editor`));
  assert.match(await page.textContent('#file-problem'), new RegExp(`Marked below at line ${line}, column \\d+`));
  assert.equal(await page.locator('#file-mirror mark.error, #file-mirror .point.error').count(), 1);
  // The mark is on that line of the editor.
  const marked = await page.evaluate(() => {
    const mark = document.querySelector('#file-mirror mark.error, #file-mirror .point.error');
    const before = document.createRange();
    before.setStart(document.getElementById('file-mirror'), 0);
    before.setEndBefore(mark);
    return before.toString().split('\n').length;
  });
  assert.equal(marked, line);
  // Grove's message is on the page once.
  const message = await page.evaluate(() => window.grove.state.outline.error.message);
  const body = await page.evaluate(() => document.body.innerText);
  for (const part of message.split('\n')) assert.equal(body.split(part).length - 1, 1, `"${part}" is shown once`);
  await page.screenshot({ path: join(ARTIFACTS, 'page-config-error.png'), fullPage: true });
  // From the plan, to the error in the editor.
  await page.selectOption('#file-select', 'instances/campus/config.yml');
  assert.equal(await page.locator('#file-mirror mark').count(), 0);
  await page.click('#plan [data-show-file="grove.yml"]');
  assert.equal(await page.inputValue('#file-select'), 'grove.yml');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'file-text');
  assert.ok(await page.evaluate(() => document.getElementById('file-text').selectionStart > 0));
  // An instance's broken config, shown: the same.
  await page.fill('#file-text', text);
  await page.selectOption('#file-select', 'instances/campus/config.yml');
  await page.fill('#file-text', 'LMS_HOST: campus.example.org\nEDX_PLATFORM_VERSION: [1\n');
  await typeTitle(page, '[AutoDeploy][Update] campus');
  assert.match(await page.textContent('#status'), /instances\/campus\/config\.yml has an error \(line 2, column \d+\)/);
  assert.equal(await page.locator('#file-mirror mark.error, #file-mirror .point.error').count(), 1);
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
  await page.waitForFunction(() => document.getElementById('instance-count')?.textContent === '9');
  await typeTitle(page, '[AutoDeploy][Update] extra|9,campus');
  await page.waitForFunction(() => location.hash.includes('f=') && decodeURIComponent(location.hash).includes('extra|9'));
  const link = page.url();
  const yaml = await page.textContent('#yaml');
  assert.match(yaml, /\nrelease:extra:\n/);

  const other = await open(chrome.context, link);
  assert.equal(await other.inputValue('#title'), '[AutoDeploy][Update] extra|9,campus');
  assert.equal(await other.textContent('#yaml'), yaml);
  assert.equal(await other.textContent('#instance-count'), '9');
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

/** Shows what a page shows of a link that cannot show its view. */
async function assertNothingShown(page, why) {
  assert.equal(await page.isVisible('#link-problem'), true);
  assert.match(await page.textContent('#link-problem'), why);
  assert.equal(await page.inputValue('#title'), '');
  assert.equal(await page.textContent('#yaml'), '');
  assert.equal(await page.locator('#graph svg').count(), 0);
  assert.match(await page.textContent('#plan'), /^No plan\.$/);
  assert.match(await page.textContent('#status'), /Nothing is shown/);
}

test('a cut or broken link says so, and shows nothing as if it were the link\'s view', async () => {
  const page = await open(chrome.context, server.url);
  await page.evaluate(() => window.grove.loadFleet({ 'instances/solo/config.yml': 'LMS_HOST: solo.example.org\n' }, 'one instance'));
  await typeTitle(page, '[AutoDeploy][Update] solo|4');
  await page.waitForFunction(() => location.hash.includes('f='));
  const link = page.url();
  // Cut anywhere: in the fleet, or in the title (which would still read as a title).
  for (const cut of [link.slice(0, -20), link.slice(0, link.indexOf('%7C4') + 3) ]) {
    const opened = await open(chrome.context, cut);
    await assertNothingShown(opened, /cut short or changed/);
    await opened.screenshot({ path: join(ARTIFACTS, 'page-cut-link.png') });
    // The reader may start over; the page is then theirs.
    await opened.click('#link-problem-start');
    await settle(opened);
    assert.equal(await opened.isVisible('#link-problem'), false);
    assert.match(await opened.textContent('#status'), /^Update · 3 jobs in 3 stages$/);
    assert.deepEqual(opened.errors, []);
    await opened.close();
  }
  // A link of the older form (no checksum) whose fleet is damaged.
  const damaged = await open(chrome.context, `${server.url}#t=${encodeURIComponent('[AutoDeploy][Update] solo')}&n=x&f=AAAAbroken`);
  await assertNothingShown(damaged, /fleet cannot be read/);
  // Typing is starting over too.
  await typeTitle(damaged, '[AutoDeploy][Archive] staging,labs');
  assert.equal(await damaged.isVisible('#link-problem'), false);
  assert.equal(await damaged.textContent('#yaml'), golden('06-archive.yml'));
  assert.deepEqual([...page.errors, ...damaged.errors], []);
  await Promise.all([page.close(), damaged.close()]);
});

test('a link without a fleet, in a tab that holds another fleet, uses the demo fleet', async () => {
  const page = await open(chrome.context, server.url);
  await page.evaluate((files) => window.grove.loadFleet(files, 'big fleet'), bigFleet(20));
  await typeTitle(page, '[AutoDeploy][Update] school-001');
  assert.equal(await page.textContent('#instance-count'), '20');
  // A link to the demo fleet pasted into this tab's address.
  await page.evaluate((title) => { location.hash = `t=${encodeURIComponent(title)}`; }, '[AutoDeploy][Archive] staging,labs');
  await page.waitForFunction(() => document.getElementById('instance-count')?.textContent === '8');
  await settle(page);
  assert.match(await page.textContent('#fleet-label'), /demo fleet/);
  assert.equal(await page.inputValue('#title'), '[AutoDeploy][Archive] staging,labs');
  assert.equal(await page.textContent('#yaml'), golden('06-archive.yml'));
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('Copy link says plainly when the payload or the fleet is too large for a link', async () => {
  await chrome.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
  const page = await open(chrome.context, server.url);
  // A link that holds the view is copied.
  await typeTitle(page, '[AutoDeploy][Update] campus');
  await page.click('#share');
  await page.waitForFunction(() => document.getElementById('share-status').textContent !== '');
  assert.equal(await page.textContent('#share'), 'Copied');
  assert.equal(await page.textContent('#share-status'), 'Link copied: it shows this view.');
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), page.url());
  await page.evaluate(() => navigator.clipboard.writeText('before'));

  // A payload that does not compress below the limit: not copied, and said so.
  const noise = Array.from({ length: 90000 }, (_, i) => ((i * 7919) % 65521).toString(36)).join('');
  const payload = JSON.stringify({ object_kind: 'push', ref: 'refs/heads/main', checkout_sha: 'da15', project: { git_http_url: 'https://example.org/x.git' }, commits: [], noise });
  await page.click('#mode-webhook');
  await page.fill('#payload', payload);
  await settle(page);
  await page.waitForFunction(() => document.getElementById('share').textContent === 'Copy link'); // the first "Copied" is gone
  await page.click('#share');
  await page.waitForFunction(() => document.getElementById('share-status').textContent.startsWith('Not copied'));
  assert.match(await page.textContent('#share-status'), /^Not copied: the webhook payload \(\d+ KB packed\) is too large for a link \(at most 60 KB\), so a link cannot show this view\.$/);
  assert.equal(await page.textContent('#share'), 'Copy link');
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), 'before');
  // The address says so too: opened, it shows nothing.
  assert.match(page.url(), /&x=payload/);
  const opened = await open(chrome.context, page.url());
  await assertNothingShown(opened, /its webhook payload was too large to be put in a link/);

  // The same for a fleet too large for a link.
  await page.click('#mode-title');
  await page.evaluate((noise) => window.grove.loadFleet({ 'instances/solo/config.yml': `LMS_HOST: solo.example.org\n# ${noise}\n` }, 'noisy'), noise);
  await settle(page);
  await page.click('#share');
  await page.waitForFunction(() => document.getElementById('share-status').textContent.includes('the fleet'));
  assert.match(await page.textContent('#share-status'), /^Not copied: the fleet \(\d+ KB packed\) is too large for a link/);
  assert.equal(await page.textContent('#share'), 'Copy link');
  assert.deepEqual([...page.errors, ...opened.errors], []);
  await Promise.all([page.close(), opened.close()]);
});

test('a pasted webhook payload shows the pipeline of grove webhookpipeline, and links keep it', async () => {
  const page = await open(chrome.context, server.url);
  await page.click('#mode-webhook');
  assert.equal(await page.isVisible('#title'), false);
  // Paste a pull request payload: its preview environment, as the CLI writes it.
  await page.fill('#payload', payloadOf('github-pr-opened'));
  await settle(page);
  assert.equal(await page.textContent('#yaml'), webhookGolden('github-pr-opened.yml'));
  assert.equal(await page.textContent('#plan-text'), webhookGolden('github-pr-opened.plan.txt'));
  assert.match(await page.textContent('#status'), /^Preview environment up · \d+ jobs? in 1 stage$/);
  assert.ok((await page.locator('#graph svg .job').count()) > 0);
  // An example button: a push to the cluster repository is its head commit's title.
  await page.click('text=GitLab push to the cluster');
  await settle(page);
  assert.equal(await page.textContent('#yaml'), webhookGolden('gitlab-push-cluster.yml'));
  // What Grove cannot read is an error with the CLI's exit code, and no pipeline.
  await page.fill('#payload', '{"object_kind": "push", ');
  await settle(page);
  assert.match(await page.textContent('#status'), /grove webhookpipeline would exit 5: invalid webhook payload/);
  assert.match(await page.textContent('#plan'), /invalid webhook payload: not JSON/);
  assert.equal(await page.textContent('#yaml'), '');
  await page.screenshot({ path: join(ARTIFACTS, 'page-webhook.png'), fullPage: true });

  // A link reproduces the payload view.
  await page.fill('#payload', payloadOf('gitlab-mr-merge'));
  await settle(page);
  assert.match(page.url(), /&m=webhook&p=/);
  const other = await open(chrome.context, page.url());
  assert.equal(await other.getAttribute('#mode-webhook', 'aria-selected'), 'true');
  assert.equal(await other.inputValue('#payload'), payloadOf('gitlab-mr-merge'));
  assert.equal(await other.textContent('#yaml'), webhookGolden('gitlab-mr-merge.yml'));
  // Back to titles.
  await other.click('#mode-title');
  assert.equal(await other.isVisible('#title'), true);
  await typeTitle(other, titleOf('04-update'));
  assert.equal(await other.textContent('#yaml'), golden('04-update.yml'));
  assert.deepEqual([...page.errors, ...other.errors], []);
  await Promise.all([page.close(), other.close()]);
});

test('a long plan folds its list, and shows it all on request', async () => {
  const page = await open(chrome.context, server.url);
  await page.evaluate((files) => window.grove.loadFleet(files, 'big fleet'), bigFleet(100));
  await typeTitle(page, '[AutoDeploy][Batch][UpgradeTo] 0123456789abcdef');
  const planned = await page.evaluate(() => window.grove.state.outline.plan.instances.length);
  assert.equal(planned, 90);
  // The steps (2 base images, 90 instances) and what is left out (10 instances) are folded; the
  // note that ends the plan, about the whole pipeline, is not folded away with them.
  assert.deepEqual(await page.locator('#plan .plan-more summary').allTextContents(), ['Show 89 more instances', 'Show 7 more instances']);
  assert.equal(await page.locator('#plan li.note').count(), 1);
  assert.equal(await page.locator('#plan details li.note').count(), 0);
  assert.equal(await page.isVisible('#plan li.note'), true);
  assert.match(await page.textContent('#plan li.note'), /^Note: each instance is built and deployed at edx-platform 0123456789abcdef for this pipeline;/);
  const folded = (await page.locator('#plan').boundingBox()).height;
  assert.ok(folded < 900, `the folded plan is ${folded} px tall`);
  await page.click('#plan .plan-more summary >> nth=0');
  assert.ok((await page.locator('#plan').boundingBox()).height > folded * 3);
  assert.equal(await page.locator('#plan .plan-more >> nth=0').locator('li').count(), 89);
  // All of the plan's lines are there, folded or not.
  const lines = (await page.textContent('#plan-text')).split('\n').filter((l) => l.startsWith('  ') && !l.startsWith('  shard'));
  assert.ok(await page.locator('#plan li').count() >= lines.length);
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
  write('grove.yml', 'PIPELINE_IMAGE: registry.example.org/grove:1\nENV_STORE: s3://grove-state/mycluster\n');
  write('instances/alpha/config.yml', 'LMS_HOST: alpha.example.org\nEDX_PLATFORM_REPOSITORY: https://github.com/openedx/edx-platform.git\nEDX_PLATFORM_VERSION: open-release/sumac.1\n');
  write('instances/alpha/grove-requirements.txt', 'tutor==19.0.0\n');
  write('instances/alpha/.venv/pyvenv.cfg', 'home = /usr/bin\n');
  write('instances/alpha/env/apps/openedx/config/lms.env.yml', 'SECRET_KEY: x\n');
  write('instances/beta/config.yml', 'LMS_HOST: beta.example.org\nEDX_PLATFORM_REPOSITORY: https://github.com/openedx/edx-platform.git\n');
  write('instances/beta/grove.yml', 'BATCH_UPGRADE_DISABLED: true\n');
  return root;
}

/** Presses Tab until `done()` holds in the page (at most `limit` times); returns the ids passed. */
async function tabUntil(page, done, limit = 80) {
  const passed = [];
  for (let i = 0; i < limit; i++) {
    if (await page.evaluate(done)) return passed;
    await page.keyboard.press('Tab');
    passed.push(await page.evaluate(() => document.activeElement.id || document.activeElement.className?.baseVal || document.activeElement.className));
  }
  throw new Error(`not reached in ${limit} Tabs: ${passed.join(', ')}`);
}

test('every control by keyboard: the tabs, the diagnostics, the folder chooser', async () => {
  const page = await open(chrome.context, server.url);
  // The tabs: one Tab stop; the arrows move between them and show their panel.
  await page.focus('#share');
  await tabUntil(page, () => document.activeElement.id === 'mode-title', 3);
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'mode-webhook');
  assert.equal(await page.getAttribute('#mode-webhook', 'aria-selected'), 'true');
  assert.equal(await page.isVisible('#payload'), true);
  await settle(page);
  assert.match(await page.textContent('#status'), /^Update · /); // the example payload: a push of a title
  await page.keyboard.press('Home');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'mode-title');
  assert.equal(await page.isVisible('#title'), true);
  await page.keyboard.press('End');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'mode-webhook');
  await page.keyboard.press('ArrowRight'); // wraps around
  assert.equal(await page.evaluate(() => document.activeElement.id), 'mode-title');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'title', 'the other tab is not a Tab stop');

  // The diagnostics: reached by Tab; Enter selects the offending text in the title.
  await page.keyboard.press('Control+A');
  await page.keyboard.type('[AutoDeploy][Update] campus,Labs');
  await settle(page);
  await tabUntil(page, () => document.activeElement.classList.contains('diagnostic'), 20);
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'title');
  assert.equal(await page.evaluate(() => { const t = document.getElementById('title'); return t.value.slice(t.selectionStart, t.selectionEnd); }), 'L');

  // The folder chooser: reached by Tab, opened with Enter; the drop zone is not a Tab stop.
  const choosing = page.waitForEvent('filechooser');
  const passed = await tabUntil(page, () => document.activeElement.id === 'choose-folder');
  assert.ok(!passed.includes('drop'), passed.join(', '));
  await page.keyboard.press('Enter');
  await (await choosing).setFiles(clusterFolder());
  await page.waitForFunction(() => document.getElementById('instance-count')?.textContent === '2');
  await settle(page);
  // Chosen, not "dropped".
  assert.equal(await page.textContent('#fleet-label'), 'mycluster (chosen, 5 files read, 2 left alone)');
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a chosen folder becomes the fleet, reading only what Grove reads; an empty one changes nothing', async () => {
  const page = await open(chrome.context, server.url);
  const root = clusterFolder();
  await page.setInputFiles('#folder', root);
  await page.waitForFunction(() => document.getElementById('instance-count')?.textContent === '2');
  assert.equal(await page.textContent('#fleet-label'), 'mycluster (chosen, 5 files read, 2 left alone)');
  assert.match(await page.textContent('#fleet-summary'), /alpha\s+beta/);
  await typeTitle(page, '[AutoDeploy][Update] alpha,beta');
  const yaml = await page.textContent('#yaml');
  assert.match(yaml, /\nrelease:alpha:\n/);
  assert.match(yaml, /\nrelease:beta:\n/);
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
  // A folder with nothing Grove reads: the fleet and its summary stay, and the page says so.
  const summary = await page.textContent('#fleet-summary');
  const empty = join(mkdtempSync(join(tmpdir(), 'grove-empty-')), 'notes');
  mkdirSync(empty);
  writeFileSync(join(empty, 'README.md'), '# nothing here\n');
  await page.setInputFiles('#folder', empty);
  await page.waitForFunction(() => document.getElementById('folder-status').textContent !== '');
  assert.match(await page.textContent('#folder-status'), /^Nothing was read from notes: .* The fleet is unchanged\.$/);
  assert.equal(await page.textContent('#fleet-summary'), summary);
  assert.equal(await page.textContent('#fleet-label'), 'mycluster (chosen, 5 files read, 2 left alone)');
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
  assert.equal(await page.textContent('#fleet-label'), 'instances (dropped, 4 files read, 1 left alone)');
  await typeTitle(page, '[AutoDeploy][Batch][UpgradeTo] 0123abcd');
  // Only instances/ was dropped: no grove.yml, so no ENV_STORE, and Grove would not deploy.
  assert.match(await page.textContent('#status'), /grove pipeline would exit 5: /);
  assert.match(await page.textContent('#plan'), /ENV_STORE is not set/);
  // With a store set, the dropped instances are planned.
  await page.click('#files-details summary');
  await page.fill('#new-path', 'grove.yml');
  await page.click('#add-file');
  await page.fill('#file-text', 'ENV_STORE: s3://grove-state/mycluster\n');
  await settle(page);
  assert.match(await page.textContent('#plan'), /rebuild and redeploy 1 instance\.\s*base image 1: .*\s*alpha: build/);
  assert.match(await page.textContent('#plan'), /Left out, and why:\s*beta: BATCH_UPGRADE_DISABLED/);
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('no WCAG A or AA violations (axe-core), in every state of the page', async () => {
  const page = await open(chrome.context, server.url);
  const check = async (state) => {
    const { violations } = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']).analyze();
    const found = violations.map((v) => `${state}: ${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).slice(0, 5).join('; ')}`);
    assert.deepEqual(found, []);
  };
  await check('the demo');
  // The focus ring of the title (which axe does not check): 3:1 against the card at least.
  await page.focus('#title');
  const [ring, card] = await page.evaluate(() => [getComputedStyle(document.getElementById('title')).boxShadow, getComputedStyle(document.querySelector('.title-card')).backgroundColor]);
  assert.ok(contrast(ring, card) >= 3, `${ring} on ${card}`);
  await typeTitle(page, '[AutoDeploy][Updte] campus,Labs,nowhere');
  await check('a title with errors');
  await typeTitle(page, 'Revert "[AutoDeploy][Update] campus"');
  await check('a warning');
  await typeTitle(page, titleOf('03-create'));
  await page.click('#graph [data-node="build:campus"]');
  await page.click('#files-details summary');
  await check('a job shown, the file editor open');
  await page.selectOption('#file-select', 'grove.yml');
  await page.fill('#file-text', 'PIPELINE_PATCHES: [\n');
  await settle(page);
  await check('a broken config');
  await page.click('#reset-fleet');
  await page.evaluate((files) => window.grove.loadFleet(files, 'big fleet'), bigFleet(SHARDED));
  await typeTitle(page, '[AutoDeploy][Batch][UpgradeTo] 0123456789abcdef');
  await page.click('#plan .plan-more summary');
  await check('a sharded batch');
  await page.click('#mode-webhook');
  await settle(page);
  await check('the webhook tab');
  const broken = await open(chrome.context, `${server.url}#c=00000000&t=x`);
  await new AxeBuilder({ page: broken }).withTags(['wcag2a', 'wcag2aa']).analyze().then(({ violations }) => assert.deepEqual(violations.map((v) => v.id), []));
  assert.deepEqual([...page.errors, ...broken.errors], []);
  await Promise.all([page.close(), broken.close()]);
});

test('at 390 px wide, nothing reaches past the screen', async () => {
  const page = await open(chrome.context, server.url);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.evaluate((files) => window.grove.loadFleet(files, 'big fleet with a long name for a small screen'), bigFleet(SHARDED));
  await typeTitle(page, '[AutoDeploy][Batch][UpgradeTo] 0123456789abcdef');
  await page.click('#files-details summary');
  await page.selectOption('#file-select', 'instances/school-001/grove-requirements.txt');
  await page.click('#graph [data-node="grove-shard:1"]');
  await page.screenshot({ path: join(ARTIFACTS, 'page-390.png'), fullPage: true });
  // Whatever is not inside a box that scrolls (the graph, the YAML) lies within the 390 px.
  const past = await page.evaluate(() => {
    const scrolls = (e) => { for (let p = e.parentElement; p; p = p.parentElement) { const o = getComputedStyle(p).overflowX; if (o === 'auto' || o === 'scroll' || o === 'hidden') return true; } return false; };
    return [...document.querySelectorAll('body *')]
      .filter((e) => e.getClientRects().length && !scrolls(e))
      .map((e) => [e.id || e.tagName, e.getBoundingClientRect()])
      .filter(([, r]) => r.right > 390.5 || r.left < -0.5)
      .map(([name, r]) => `${name}: ${Math.round(r.left)}..${Math.round(r.right)}`);
  });
  assert.deepEqual(past, []);
  assert.equal(await page.evaluate(() => document.scrollingElement.scrollWidth), 390);
  for (const id of ['file-select', 'pipeline-file', 'new-path', 'share', 'choose-folder']) {
    const box = await page.locator(`#${id}`).boundingBox();
    assert.ok(box.x >= 0 && box.x + box.width <= 390, `#${id} fits: ${JSON.stringify(box)}`);
  }
  assert.deepEqual(page.errors, []);
  await page.close();
});

/** The response headers of `path` from the server, asking for `encoding`. */
function headers(path, encoding) {
  return new Promise((ok, fail) => {
    request(new URL(path, server.url), { headers: { 'accept-encoding': encoding } }, (response) => {
      response.resume();
      response.on('end', () => ok(response.headers));
    }).on('error', fail).end();
  });
}

test('the server sends precompressed files, and the page allows nothing but its own files', async () => {
  const wasm = 'pkg/grove_wasm_bg.wasm';
  const gzip = await headers(wasm, 'gzip');
  assert.equal(gzip['content-encoding'], 'gzip');
  assert.equal(gzip['content-type'], 'application/wasm');
  assert.equal(Number(gzip['content-length']), statSync(join(DIST, `${wasm}.gz`)).size);
  assert.ok(Number(gzip['content-length']) < statSync(join(DIST, wasm)).size / 2);
  const br = await headers(wasm, 'gzip, deflate, br');
  assert.equal(br['content-encoding'], 'br');
  assert.equal(Number(br['content-length']), statSync(join(DIST, `${wasm}.br`)).size);
  const plain = await headers(wasm, 'identity');
  assert.equal(plain['content-encoding'], undefined);
  // One policy: the page's <meta>, sent as a header to every file (the worker reads it there).
  const html = readFileSync(join(DIST, 'index.html'), 'utf8');
  const policy = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)[1];
  assert.match(policy, /default-src 'none'/);
  for (const path of ['', 'worker.js', wasm]) {
    assert.equal((await headers(path, 'gzip'))['content-security-policy'], `${policy}; frame-ancestors 'none'`);
  }
  // The policy holds: a script written into the page does not run, and the page works.
  const page = await open(chrome.context, server.url);
  const ran = await page.evaluate(() => {
    const script = document.createElement('script');
    script.textContent = 'window.injected = true';
    document.body.append(script);
    const img = new Image();
    img.src = 'https://example.org/x.png';
    return window.injected === true;
  });
  assert.equal(ran, false);
  assert.ok(page.errors.some((e) => /Content Security Policy/.test(e.message)), 'the browser reports the blocked script');
  assert.match(await page.textContent('#status'), /^Update · 3 jobs in 3 stages$/);
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
