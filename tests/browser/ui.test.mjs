// Browser tests of the review console in headless Debian Chromium (playwright-core): the real
// `vigil serve` with a rules file and review queues, two matching benign uploads, and a reviewer who
// signs in, sees only the queues they work, opens the case, finds the media blurred, claims it,
// reveals one item (grey until switched to colour; recorded as a view) and decides with the
// keyboard; the decision lands in the store. Legal staff approve the drafted CyberTipline report
// and open the transparency figures. A second reviewer takes the user's appeal: the appeal opens
// its case (the statement, the first decision and its reason, the media revealed as the appeal's
// reviewer), the reason is typed inline and the appeal overturned; the history finds the case and
// the appeal by user. The same reviewer claims the next case of the NCII queue, reaches the
// organisation's reveal limit and meets the break: every image covered again, a countdown, the
// server refusing originals. Last a bank admin curates a bank (search, disable with a reason,
// enable again, the import log) and syncs a list exchange; a manager reads the exposure figures
// and lowers a reviewer's limit. Last, a classifier (a stand-in model server) scores an upload no
// list holds: the reviewer of the classifier queue finds its scores beside the blurred media.
// Screenshots go to docs/
// (VIGIL_SCREENSHOTS=DIR overrides).
//
//   VIGIL_CLI=build/ci/vigil node tests/browser/ui.test.mjs
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { startProvider, freePort } from './oidc-provider.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const cli = process.env.VIGIL_CLI || join(root, 'build', 'ci', 'vigil');
const testData = process.env.VIGIL_TEST_DATA_DIR || join(root, 'tests', 'data');
const shots = process.env.VIGIL_SCREENSHOTS || join(root, 'docs');
const work = mkdtempSync(join(tmpdir(), 'vigil-ui-'));
const data = join(work, 'data');

const vigil = (...args) => execFileSync(cli, args, { encoding: 'utf8' }).trim();
const key = (role, name) => vigil('keys', 'create', '--data-dir', data, '--role', role, '--name', name);

let server;
let browser;
let provider;
let model;
try {
  // The platform's own model server (classifiers.md, kind http-json): it scores "novel-1" high.
  model = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      const id = JSON.parse(body).id;
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ model: 'standin-model', version: '1', scores: { match: id === 'novel-1' ? 0.97 : 0.05 } }));
    });
  });
  await new Promise((resolve) => model.listen(0, '127.0.0.1', resolve));
  // The organisation's identity provider: Rita reviews and is in the legal team.
  provider = await startProvider({ clientId: 'vigil-console', clientSecret: 'console-secret',
    user: { sub: 'idp|rita', preferred_username: 'rita', name: 'Rita Reviewer', groups: ['t-and-s', 'legal-team'] } });
  const port = await freePort();
  const keys = { alice: key('reviewer', 'alice'), bob: key('reviewer', 'bob'), carol: key('reviewer', 'carol'),
                 platform: key('submitter', 'platform'),
                 lists: key('bank-admin', 'lists'), root: key('admin', 'root'), lena: key('legal', 'lena') };
  writeFileSync(join(work, 'rules.toml'), `
[[rule]]
name = "known-image"
banks = ["benign-list"]
max_distance = 31
actions = ["block", "hold", "queue_report"]
hold_priority = 2

[[rule]]
name = "intimate-image"
banks = ["intimate"]
actions = ["block", "hold"]

[[rule]]
name = "likely-novel"
classifiers = ["own-model"]
labels = ["match"]
min_score = 0.9
actions = ["block", "hold"]
hold_priority = 3

[[queue]]
name = "ncii"
title = "Intimate images"
categories = ["ncii"]
sla_hours = 12

[[queue]]
name = "classifier-review"
title = "Classifier flags"
sources = ["classifier"]
`);
  writeFileSync(join(work, 'classifiers.toml'), `
[[classifier]]
name = "own-model"
kind = "http-json"
url = "http://127.0.0.1:${model.address().port}/score"
request = '{"image": "{{image_base64}}", "id": "{{content_id}}"}'
model_pointer = "/model"
version = "/version"
`);
  writeFileSync(join(work, 'vigil.toml'), `
[reporter]
company_name = "Example Photos Inc."
first_name = "Dana"
last_name = "Reyes"
email = "safety@example.org"
platform = "Example Photos"
[sandbox]
mode = "auto"
[wellness]
reveal_limit = 2
break_minutes = 5
[exchanges]
poll_seconds = 0
list_directory = "${join(work, 'lists')}"
[classifiers]
file = "${join(work, 'classifiers.toml')}"
[sso]
issuer = "${provider.issuer}"
client_id = "vigil-console"
redirect_uri = "http://127.0.0.1:${port}/v1/sso/callback"
group_roles = "t-and-s=reviewer; legal-team=legal"
provider_name = "Example SSO"
`);
  mkdirSync(join(work, 'lists'));
  writeFileSync(join(work, 'lists', 'partner.csv'),
                `md5,${'0123456789abcdef'.repeat(2)},x1,\nmd5,${'fedcba9876543210'.repeat(2)},x2,\n`);
  const portFile = join(work, 'port');
  server = spawn(cli, ['serve', '--data-dir', data, '--listen', `127.0.0.1:${port}`, '--port-file', portFile,
                       '--rules', join(work, 'rules.toml'), '--config', join(work, 'vigil.toml'), '--no-access-log'],
                 { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, VIGIL_SSO_CLIENT_SECRET: 'console-secret' } });
  for (let i = 0; i < 300 && !existsSync(portFile); i++) await new Promise((r) => setTimeout(r, 50));
  const base = `http://127.0.0.1:${readFileSync(portFile, 'utf8').trim()}`;
  const call = async (who, method, path, body, type = 'application/json') => {
    const response = await fetch(base + path, { method, body,
      headers: { Authorization: `Bearer ${keys[who]}`, ...(body ? { 'Content-Type': type } : {}) } });
    const text = await response.text();
    return { status: response.status, json: text ? JSON.parse(text) : null };
  };
  for (let i = 0; i < 100; i++) { if ((await fetch(base + '/readyz')).ok) break; await new Promise((r) => setTimeout(r, 50)); }

  // Another account's copy of the photo, shrunk, uploaded before the list had the photo: the list
  // holds the original's SHA-256, so the copy matches nothing, then or when the list arrives; the
  // sweep after the decision finds it by the PDQ the platform's own bank gains.
  const mods = join(testData, 'vectors/pdq/bridge-mods');
  const photo = join(mods, 'aaa-orig.jpg');
  const early = await call('platform', 'POST', '/v1/content?content_id=early-copy&user_id=user-77',
                           readFileSync(join(mods, 'shrink-a-little.jpg')), 'image/jpeg');
  assert.equal(early.status, 201, JSON.stringify(early.json));
  assert.equal(early.json.matches.length, 0);

  // A bank holding one benign photo, and two uploads of that photo by one user.
  assert.equal((await call('lists', 'POST', '/v1/banks', JSON.stringify({ name: 'benign-list' }))).status, 201);
  const sha256 = createHash('sha256').update(readFileSync(photo)).digest('hex');
  assert.equal((await call('lists', 'POST', '/v1/banks/benign-list/import?format=csv', `sha256,${sha256},bridge,B1\n`, 'text/csv')).status, 200);
  let caseId = 0;
  for (const [id, file] of [['upload-1', 'aaa-orig.jpg'], ['upload-2', 'aaa-orig.jpg']]) {
    const reply = await call('platform', 'POST', `/v1/content?content_id=${id}&user_id=user-42`,
                             readFileSync(join(testData, 'vectors/pdq/bridge-mods', file)), 'image/jpeg');
    assert.equal(reply.status, 201, JSON.stringify(reply.json));
    caseId = reply.json.policy.case_id;
  }
  assert.ok(caseId > 0);
  // A user's report about one of them joins the same case; the case view says who reported what.
  const reported = await call('platform', 'POST', '/v1/user-reports',
                              JSON.stringify({ content_id: 'upload-1', reporter: 'user-5', reason: 'saw this <b>twice</b>' }));
  assert.equal(reported.status, 201, JSON.stringify(reported.json));
  assert.equal(reported.json.case_id, caseId);

  // An intimate-image stand-in listed in an NCII bank: its case goes to the NCII queue, which bob
  // works and alice does not.
  const intimate = join(testData, 'vectors/pdq/misc-images/c.png');
  assert.equal((await call('lists', 'POST', '/v1/banks', JSON.stringify({ name: 'intimate', category: 'ncii' }))).status, 201);
  const intimateSha = createHash('sha256').update(readFileSync(intimate)).digest('hex');
  assert.equal((await call('lists', 'POST', '/v1/banks/intimate/import?format=csv', `sha256,${intimateSha}\n`, 'text/csv')).status, 200);
  const ncii = await call('platform', 'POST', '/v1/content?content_id=ncii-1&user_id=user-88', readFileSync(intimate), 'image/png');
  assert.equal(ncii.status, 201, JSON.stringify(ncii.json));
  const nciiCase = ncii.json.policy.case_id;
  assert.equal((await call('root', 'PUT', '/v1/queues/ncii/members/bob')).status, 200);

  browser = await chromium.launch({
    executablePath: process.env.VIGIL_CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  page.on('pageerror', (e) => { throw e; });

  // Sign in; a break after one reveal.
  await page.goto(base + '/ui/');
  await page.getByLabel('API key').fill(keys.alice);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('1 cases: 1 open').waitFor();
  const row = page.locator(`#queue-rows tr[data-case-id="${caseId}"]`);
  await row.waitFor();
  assert.match(await row.textContent(), /general.*user-42/);
  // alice works the general queue only: the NCII case is neither counted nor listed for her.
  assert.equal(await page.locator('#queues-rows tr').count(), 1);
  assert.equal(await page.locator(`#queue-rows tr[data-case-id="${nciiCase}"]`).count(), 0);
  assert.match(await page.locator('#exposure').textContent(), /0 of 2 \(limit set by your organisation\)/);

  // The case: both items blurred, with their provenance.
  await row.click();
  await page.locator('#items article').nth(1).waitFor();
  const images = page.locator('#items img');
  assert.equal(await images.count(), 2);
  for (let i = 0; i < 2; i++) assert.equal(await images.nth(i).getAttribute('class'), 'blurred');
  assert.match(await page.locator('#items').textContent(), /benign-list/);
  assert.match(await page.locator('#case-sweep').textContent(), /upload-1: reported by user-5 .*“saw this <b>twice<\/b>”/);
  assert.equal(await page.locator('#case-sweep b').count(), 0, 'a reporter\'s words are text, never markup');
  // Every form control has a label.
  const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea')]
    .filter((e) => e.type !== 'radio' && !(e.labels && e.labels.length)).map((e) => e.id));
  assert.deepEqual(unlabelled, []);

  // Keyboard: c claims.
  await page.locator('body').press('c');
  await page.getByText(`Claimed case #${caseId}`).waitFor();
  await page.screenshot({ path: join(shots, 'ui-case.png'), fullPage: true });

  // Reveal the first item: shown unblurred but grey until switched to colour, recorded server-side
  // and counted against the organisation's limit.
  await page.locator('#items article').first().getByRole('button', { name: /Reveal upload upload-1/ }).click();
  await page.locator('#items img.revealed').waitFor();
  assert.equal(await page.locator('#items img.blurred').count(), 1);
  assert.match(await page.locator('#items img.revealed').getAttribute('class'), /grey/);
  await page.getByRole('button', { name: 'Show colour' }).click();
  assert.doesNotMatch(await page.locator('#items img.revealed').getAttribute('class'), /grey/);
  await page.getByText('Reveals before a break: 1 of 2').waitFor();
  const audit = await call('root', 'GET', '/v1/audit?limit=50');
  assert.ok(audit.json.audit.some((r) => r.action === 'media.view' && r.target === 'upload-1' && r.actor === 'alice'),
            'the reveal is in the audit log');

  // Decide with the keyboard: v, the label, the reason, Ctrl+Enter.
  await page.locator('body').press('v');
  await page.keyboard.type('B1');
  await page.getByLabel('Reason', { exact: true }).fill('the listed bridge photo, re-encoded');
  await page.getByLabel('Reason', { exact: true }).press('Control+Enter');
  await page.getByText(`Decision recorded: case #${caseId} is decided`).waitFor();

  const decided = await call('alice', 'GET', `/v1/cases/${caseId}`);
  assert.equal(decided.json.status, 'decided');
  const decision = decided.json.decisions[0];
  assert.equal(decision.reviewer, 'alice');
  assert.equal(decision.verdict, 'violating');
  assert.equal(decision.classification, 'B1');
  assert.deepEqual(decision.viewed, ['upload-1']);
  assert.ok(decided.json.items.every((i) => i.state === 'removed'));

  // The sweep: the case view says what it found and links to the other account's case, which
  // links back; the copy is blocked, the account untouched until a person decides.
  await page.getByText('1 copy by 1 other account').waitFor();
  await page.locator('#case-sweep').screenshot({ path: join(shots, 'ui-sweep.png') });
  await page.locator('#case-sweep button.link').first().click();
  await page.getByText('Found by the sweep of').waitFor();
  assert.match(await page.locator('#case-summary').textContent(), /user-77/);
  assert.match(await page.locator('#items').textContent(), new RegExp(`sweep of case #${caseId}`));
  assert.equal(decided.json.sweep.copies, 1);
  const swept = await call('alice', 'GET', `/v1/cases/${decided.json.sweep.cases[0].case_id}`);
  assert.deepEqual(swept.json.swept_from, [caseId]);
  assert.equal(swept.json.items[0].state, 'blocked');
  assert.equal(swept.json.user.account_state, 'active');
  assert.equal(swept.json.report_queued, false);

  // Legal staff: the queue is not theirs; the drafted report is. They approve it (a person's
  // approval, recorded) and open the transparency figures, rendered by the server without scripts.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('API key').fill(keys.lena);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const report = page.locator('#report-rows tr').first();
  await report.waitFor();
  assert.match(await report.textContent(), new RegExp(`#${caseId}.*user-42.*draft`));
  const reportId = Number(await report.getAttribute('data-report-id'));
  await page.getByRole('button', { name: `Approve report ${reportId}` }).click();
  await page.getByText(`Approve: report #${reportId}`).waitFor();
  assert.match(await page.locator(`#report-rows tr[data-report-id="${reportId}"]`).textContent(), /approved.*lena/);
  await page.getByRole('button', { name: 'Show the last 12 months' }).click();
  const frame = page.frameLocator('#transparency');
  await frame.getByText('Transparency report: Example Photos').waitFor();
  assert.ok(await frame.locator('svg').count() >= 4, 'the charts are drawn');
  assert.equal(await frame.locator('.kpi').evaluate((e) => getComputedStyle(e).display), 'flex',
               "the report's style sheet is allowed by the console's content security policy");
  await page.screenshot({ path: join(shots, 'ui-reports.png'), fullPage: true });
  const approved = await call('lena', 'GET', `/v1/reports/${reportId}`);
  assert.equal(approved.json.state, 'approved');
  assert.equal(approved.json.approved_by, 'lena');

  // The user appeals the removal. bob takes the appeal: it opens the case, with the user's words,
  // alice's decision and her reason, and the media revealed as the appeal's reviewer.
  const account = await call('platform', 'GET', '/v1/accounts/user-42');
  const removal = account.json.actions.find((a) => a.kind === 'remove_content');
  const appeal = await call('platform', 'POST', '/v1/appeals', JSON.stringify({ action_id: removal.id, statement: 'it is my own photo of a bridge' }));
  assert.equal(appeal.status, 201, JSON.stringify(appeal.json));
  const appealId = appeal.json.id;
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('API key').fill(keys.bob);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator(`#queue-rows tr[data-case-id="${nciiCase}"]`).waitFor();
  assert.equal(await page.locator('#queues-rows tr').count(), 2, 'bob works the NCII queue and the general one');
  assert.match(await page.locator('#queues-rows tr[data-queue="ncii"]').textContent(), /Intimate images \(ncii\)1.*12 h.*bob/);
  await page.screenshot({ path: join(shots, 'ui-queue.png') });
  await page.getByRole('button', { name: 'Appeals' }).click();
  await page.locator(`#appeal-rows tr[data-appeal-id="${appealId}"]`).click();
  await page.getByText('The user says: “it is my own photo of a bridge”').waitFor();
  assert.match(await page.locator('#appeal-decisions').textContent(), /alice.*violating.*B1.*the listed bridge photo, re-encoded.*upload-1/);
  assert.equal(await page.locator('#appeal-items img.blurred').count(), 2);
  assert.ok(await page.locator('#appeal-items button.reveal').first().isDisabled(), 'revealed only once the appeal is claimed');
  await page.getByRole('button', { name: 'Claim the appeal' }).click();
  await page.getByText(`Claimed appeal #${appealId}`).waitFor();
  await page.locator('#appeal-items').getByRole('button', { name: /Reveal upload upload-1/ }).click();
  await page.locator('#appeal-items img.revealed').waitFor();
  await page.screenshot({ path: join(shots, 'ui-appeal.png'), fullPage: true });
  await page.getByLabel('Reason (staff only)').fill('the user took this photo; the list entry is wrong');
  await page.getByRole('button', { name: 'Overturn' }).click();
  await page.getByText(`Appeal #${appealId} overturned. No open appeal left`).waitFor();
  assert.equal(await page.locator('#appeal-items img.revealed').count(), 0, 'leaving the appeal covers its media');
  const viewedAppeal = await call('root', 'GET', '/v1/audit?limit=100');
  assert.ok(viewedAppeal.json.audit.some((r) => r.action === 'media.view' && r.actor === 'bob' && r.detail.includes(`appeal=${appealId}`)));

  // The history: decided cases and appeals by user.
  await page.getByRole('button', { name: 'History' }).click();
  await page.getByLabel('User id').fill('user-42');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.locator(`#history-cases tr[data-case-id="${caseId}"]`).waitFor();
  await page.locator(`#history-appeals tr[data-appeal-id="${appealId}"]`).waitFor();
  assert.match(await page.locator(`#history-appeals tr[data-appeal-id="${appealId}"]`).textContent(), /overturned.*bob/);
  assert.equal(await page.locator('#history-cases tr').count(), 1);

  // The next case of the NCII queue; bob reaches the organisation's limit of two reveals and the
  // server starts the break: every image is covered again and originals are refused.
  await page.getByRole('button', { name: 'Queue' }).click();
  await page.getByRole('button', { name: 'Next case from queue ncii' }).click();
  await page.getByText(`Claimed case #${nciiCase} from queue ncii`).waitFor();
  assert.match(await page.locator('#case-summary').textContent(), /queue ncii/);
  await page.getByRole('button', { name: /Reveal upload ncii-1/ }).click();
  await page.getByText('that was the last before your break').waitFor();
  await page.getByRole('button', { name: 'Blur upload ncii-1 again' }).click();
  await page.getByRole('button', { name: /Reveal upload ncii-1/ }).click();
  await page.getByRole('dialog').waitFor();
  assert.match(await page.locator('#break-timer').textContent(), /The break ends in [45]:\d\d/);
  assert.ok(await page.getByRole('button', { name: 'I have had a break' }).isDisabled());
  assert.equal(await page.locator('img.revealed').count(), 0, 'the break covers every image');
  await page.screenshot({ path: join(shots, 'ui-break.png') });
  await page.getByRole('button', { name: 'I have had a break' }).click({ force: true });
  assert.equal(await page.getByRole('dialog').isVisible(), true, 'the break cannot be cut short');
  const refused = await fetch(`${base}/v1/cases/${nciiCase}/media/ncii-1?variant=original`, { headers: { Authorization: `Bearer ${keys.bob}` } });
  assert.equal(refused.status, 429, 'the server refuses originals during the break, whatever the client does');
  const bobWellness = await call('bob', 'GET', '/v1/me/wellness');
  assert.equal(bobWellness.json.on_break, true);
  const exposure = await call('root', 'GET', '/v1/wellness/exposure');
  const bobFigures = exposure.json.reviewers.find((r) => r.reviewer === 'bob');
  assert.equal(bobFigures.reveals, 2);
  assert.equal(bobFigures.forced_breaks, 1);

  // A manager (admin key) reads the exposure figures in the console and lowers bob's limit; a
  // higher one than the organisation's is refused.
  await page.goto(base + '/ui/');
  await page.evaluate(() => sessionStorage.clear());
  await page.goto(base + '/ui/');
  await page.getByLabel('API key').fill(keys.root);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#queue-rows').waitFor({ state: 'attached' });
  await page.getByRole('button', { name: 'Wellness' }).click();
  const bobRow = page.locator('#exposure-rows tr[data-reviewer="bob"]');
  await bobRow.waitFor();
  assert.match(await bobRow.textContent(), /^bob22\d+1 \(1\)1$/);
  await page.getByLabel('Reviewer', { exact: true }).fill('bob');
  await page.getByLabel("Their reveal limit (empty: the organisation's)").fill('5');
  await page.getByRole('button', { name: 'Set their limit' }).click();
  await page.getByText("the organisation's 2: a manager may lower it, not raise it").waitFor();
  await page.getByLabel("Their reveal limit (empty: the organisation's)").fill('1');
  await page.getByRole('button', { name: 'Set their limit' }).click();
  await page.getByText("bob's reveal limit is 1").waitFor();
  await page.screenshot({ path: join(shots, 'ui-wellness.png') });

  // A bank admin curates a bank: finds an entry by its value, disables it with a reason (it stops
  // matching and a re-import does not bring it back), enables it again; the import log is there.
  await page.goto(base + '/ui/');
  await page.evaluate(() => sessionStorage.clear());
  await page.goto(base + '/ui/');
  await page.getByLabel('API key').fill(keys.lists);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#bank-rows tr[data-bank="benign-list"]').click();
  // The bank's first rendering (every entry) is whole before searching: else its rows could
  // replace the search's after a reason was typed into one of them.
  await page.locator('#import-rows tr').first().waitFor();
  await page.getByLabel('Value (a hash)').fill(sha256);
  // The search renders entries, overrides, then the import log: its import log's answer means done.
  await Promise.all([page.waitForResponse((r) => r.url().includes('/v1/banks/benign-list/imports')),
                     page.getByRole('button', { name: 'Search entries' }).click()]);
  const entryRow = page.locator('#entry-rows tr').first();
  await entryRow.waitFor();
  assert.equal(await page.locator('#entry-rows tr').count(), 1);
  assert.match(await entryRow.textContent(), /sha256.*bridge.*B1/);
  const entryId = Number(await entryRow.getAttribute('data-entry-id'));
  await page.getByLabel(`Why entry ${entryId} is disabled`).fill('a stock photo, not abuse');
  await page.getByRole('button', { name: `Disable entry ${entryId}` }).click();
  await page.getByText(`Disabled entry #${entryId}`).waitFor().catch(async (e) => {
    throw new Error(`${e.message}; the console said: ${await page.locator('#message').textContent()}`);
  });
  assert.match(await page.locator('#override-rows').textContent(), /sha256.*a stock photo, not abuse.*lists/);
  assert.match(await page.locator('#import-rows').textContent(), /csv.*lists.*applied/);
  await page.screenshot({ path: join(shots, 'ui-banks.png'), fullPage: true });
  assert.equal((await call('lists', 'GET', '/v1/banks/benign-list')).json.live_entries, 0);
  const overrideId = Number(await page.locator('#override-rows tr').first().getAttribute('data-override-id'));
  await page.getByRole('button', { name: `Enable again override ${overrideId}` }).click();
  await page.getByText(`Enable again: override #${overrideId}`).waitFor();
  assert.equal((await call('lists', 'GET', '/v1/banks/benign-list')).json.live_entries, 1);

  // A bank admin's view: the exchanges. A list exchange synced now shows what it added.
  assert.equal((await call('lists', 'POST', '/v1/banks', JSON.stringify({ name: 'partner-list' }))).status, 201);
  const exchange = await call('lists', 'POST', '/v1/exchanges', JSON.stringify({
    name: 'partner', kind: 'url', bank: 'partner-list',
    settings: { url: `file:${join(work, 'lists', 'partner.csv')}`, format: 'csv' } }));
  assert.equal(exchange.status, 201, JSON.stringify(exchange.json));
  await page.getByRole('button', { name: 'Exchanges' }).click();
  const exchangeRow = page.locator('#exchange-rows tr[data-exchange="partner"]');
  await exchangeRow.waitFor();
  assert.match(await exchangeRow.textContent(), /partner.*url.*partner-list.*on.*never run/);
  await page.getByRole('button', { name: 'Sync now exchange partner' }).click();
  await page.getByText('Sync now: exchange #partner').waitFor();
  assert.match(await exchangeRow.textContent(), /ok: \+2 -0/);
  await page.screenshot({ path: join(shots, 'ui-exchanges.png'), fullPage: true });
  assert.equal((await call('lists', 'GET', '/v1/banks/partner-list')).json.live_entries, 2);

  // Rita signs in through the identity provider: no key typed; the console shows who she is and
  // works with the session cookie, sending its CSRF token on the calls that change something (a
  // break); legal's view is hers too. Signing out ends the session on the server.
  await page.goto(base + '/ui/');
  await page.evaluate(() => sessionStorage.clear());
  await page.goto(base + '/ui/');
  await page.getByRole('link', { name: 'Sign in with Example SSO' }).click();
  await page.getByText('Rita Reviewer (rita)').waitFor();
  await page.locator('#queue-rows').waitFor({ state: 'attached' });
  assert.equal(provider.requests['/token'], 1);
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === 'vigil-session');
  assert.ok(session && session.httpOnly && session.sameSite === 'Strict', JSON.stringify(cookies));
  await page.screenshot({ path: join(shots, 'ui-sso.png') });
  await page.getByLabel('My reveal limit (lower than the one set for me; empty: none of my own)').fill('1');
  await page.getByRole('button', { name: 'Save my limit' }).click();
  await page.getByText('Your reveal limit is 1').waitFor();
  assert.equal((await call('root', 'GET', '/v1/reviewers/rita/wellness')).json.own_reveal_limit, 1);
  assert.equal((await call('root', 'GET', '/v1/audit?limit=50')).json.audit
    .filter((r) => r.action === 'session.start' && r.actor === 'rita' && r.person_now && r.person_now.subject === 'idp|rita').length, 1);
  await page.getByRole('button', { name: 'Reports' }).click();
  await page.locator('#report-rows').waitFor({ state: 'attached' });
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('link', { name: 'Sign in with Example SSO' }).waitFor();
  const after = await fetch(base + '/v1/me', { headers: { Cookie: `vigil-session=${session.value}` } });
  assert.equal(after.status, 401);

  // A classifier's score holds an upload no list holds, in the classifier queue, which carol works:
  // she sees the scores beside the blurred media, and nothing was reported or done to the account.
  const novel = await call('platform', 'POST', '/v1/content?content_id=novel-1&user_id=user-99',
                           readFileSync(join(testData, 'vectors/pdq/misc-images/small.jpg')), 'image/jpeg');
  assert.equal(novel.status, 201, JSON.stringify(novel.json));
  assert.equal(novel.json.matches.length, 0);
  assert.equal(novel.json.policy.queue, 'classifier-review', JSON.stringify(novel.json.policy));
  assert.equal(novel.json.policy.queue_report, false);
  assert.equal(novel.json.policy.account_action, 'none');
  assert.equal((await call('root', 'PUT', '/v1/queues/classifier-review/members/carol')).status, 200);
  await page.goto(base + '/ui/');
  await page.evaluate(() => sessionStorage.clear());
  await page.goto(base + '/ui/');
  await page.getByLabel('API key').fill(keys.carol);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const novelRow = page.locator(`#queue-rows tr[data-case-id="${novel.json.policy.case_id}"]`);
  await novelRow.waitFor();
  await novelRow.click();
  const scores = page.locator('#items table.classifier-scores');
  await scores.waitFor();
  assert.match(await scores.textContent(), /own-model.*standin-model 1.*match.*0\.97/);
  assert.equal(await page.locator('#items img.blurred').count(), 1);
  await page.screenshot({ path: join(shots, 'ui-classifier.png'), fullPage: true });
  console.log('browser UI test: ok');
} catch (e) {
  console.error('browser UI test FAILED:', e);
  process.exitCode = 1;
} finally {
  if (browser) await browser.close();
  if (server) server.kill('SIGTERM');
  if (provider) provider.close();
  if (model) model.close();
  rmSync(work, { recursive: true, force: true });
}
