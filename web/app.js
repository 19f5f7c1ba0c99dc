// @ts-check
// Vigil review console: a small, dependency-free client of the /v1 API (types in JSDoc, checked
// with `tsc --checkJs`). The reviewer key lives in sessionStorage only. Media are requested as
// blurred grayscale previews; the original is fetched only when the reviewer reveals an item, and
// the server records that reveal as a view. A per-session reveal limit prompts a break.

/** @typedef {{bank: string, signal_type: string, distance: number, source: string, external_id: string, classification: string, measure?: string, query_match_percent?: number, retroactive?: boolean, sweep_of?: number, suppressed_by?: number, entry_quarantined?: boolean, entry_confirmed?: number, entry_rejected?: number}} Match */
/** @typedef {{content_id: string, media_type: string, state: string, has_media: boolean, matches: Match[]}} Item */
/** @typedef {{id: number, user_id: string, status: string, priority: number, category: string, report_problem: string, sla_due: string, assigned_to: string, item_count?: number, items?: Item[], rules?: string[], swept_from?: number[], swept_from_overturned?: number[], user_reports?: {content_id: string, source: string, reporter: string, reason: string, category: string, by: string, at: string}[], sweep?: {copies: number, accounts: number, cases: {case_id: number, user_id: string, copies: number}[]}, user?: {account_state: string, prior_confirmed_cases: number, strikes?: {points: number, cases: number, proposed: string|null}, actions: {kind: string, created_at: string}[]}}} Case */
/** @typedef {{id: string, title: string, cybertip: boolean, classifications: string[]}} Category */
/** @typedef {{id: number, action_id: number, user_id: string, statement: string, status: string, original_decider: string, assigned_to: string}} Appeal */
/** @typedef {{name: string, kind: string, bank: string, enabled: boolean, feedback: boolean, status: {last_run_at: string | null, ok: boolean | null, last_error: string, last_fetched: number, last_added: number, last_removed: number, lag_seconds: number | null, syncing: string | null, feedback_sent: number, feedback_queued: number, feedback_failed: number}}} Exchange */
/** @typedef {{id: number, case_id: number, user_id: string, state: string, ncmec_report_id: string, approved_by: string, last_code: number, last_error: string, withdraw_reason: string, files: {content_id: string, state: string}[]}} TipReport */

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

const state = {
  key: sessionStorage.getItem('vigil-key') || '',
  limit: Number(sessionStorage.getItem('vigil-limit') || '20'),
  reveals: Number(sessionStorage.getItem('vigil-reveals') || '0'),
  /** @type {Case | null} */
  current: null,
};

/**
 * Calls the API with the reviewer key; throws the server's error message.
 * @param {string} method @param {string} path @param {object} [body]
 */
async function api(method, path, body) {
  /** @type {RequestInit} */
  const init = { method, headers: { Authorization: `Bearer ${state.key}` } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    /** @type {Record<string, string>} */ (init.headers)['Content-Type'] = 'application/json';
  }
  const response = await fetch(path, init);
  if (response.status === 204) return null;
  const data = await response.json();
  if (!response.ok) {
    throw Object.assign(new Error(data.error ? data.error.message : `HTTP ${response.status}`), { status: response.status });
  }
  return data;
}

/** @param {string} text */
function say(text) { $('message').textContent = text; }

/** @param {string} name */
function show(name) {
  for (const id of ['login', 'queue', 'case', 'appeals', 'reports', 'exchanges']) $(id).hidden = id !== name;
  const heading = $(name).querySelector('h2');
  if (heading) { heading.setAttribute('tabindex', '-1'); heading.focus(); }
}

function updateExposure() {
  $('exposure').textContent = state.key ? `Reveals this session: ${state.reveals} of ${state.limit}` : '';
}

/** Creates an element with text. @param {string} tag @param {string} [text] */
function el(tag, text) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  return e;
}

async function loadQueue() {
  show('queue');
  /** @type {{cases: Case[]}} */
  const data = await api('GET', '/v1/cases');
  const counts = { open: 0, in_review: 0, escalated: 0 };
  const rows = $('queue-rows');
  rows.replaceChildren();
  for (const c of data.cases) {
    counts[/** @type {'open'|'in_review'|'escalated'} */ (c.status)] += 1;
    const tr = el('tr');
    tr.tabIndex = 0;
    tr.dataset.caseId = String(c.id);
    const cells = [`#${c.id}`, c.user_id, `P${c.priority}`, new Date(c.sla_due).toLocaleString(),
                   String(c.item_count ?? 0), c.status, c.assigned_to || '-'];
    cells.forEach((text, i) => {
      const td = el('td', text);
      if (i === 2) td.className = `priority-${c.priority}`;
      tr.append(td);
    });
    tr.addEventListener('click', () => openCase(c.id));
    tr.addEventListener('keydown', (e) => { if (e.key === 'Enter') openCase(c.id); });
    rows.append(tr);
  }
  $('queue-counts').textContent =
    `${data.cases.length} cases: ${counts.open} open, ${counts.in_review} in review, ${counts.escalated} escalated`;
}

/** @param {number} id */
async function openCase(id) {
  state.current = await api('GET', `/v1/cases/${id}`);
  renderCase();
  show('case');
}

function renderCase() {
  const c = /** @type {Case} */ (state.current);
  $('case-title').textContent = `Case #${c.id}`;
  $('case-summary').textContent = `User ${c.user_id} · ${c.status} · P${c.priority} (P0 is the most urgent) · ` +
    `category: ${c.category || 'none'} · due ${new Date(c.sla_due).toLocaleString()}` +
    ` · rules: ${(c.rules || []).join(', ')} · reviewer: ${c.assigned_to || 'none'}`;
  // A decided case that cannot be reported says why, until it is corrected.
  const problem = $('case-report-problem');
  problem.hidden = !c.report_problem;
  problem.textContent = c.report_problem ? `This case cannot be reported to NCMEC as it stands: ${c.report_problem}` : '';
  renderSweep(c);
  fillCategories(c.category);
  const items = $('items');
  items.replaceChildren();
  for (const item of c.items || []) {
    const box = el('article');
    box.className = 'item';
    box.dataset.contentId = item.content_id;
    const media = el('div');
    media.className = 'media';
    if (item.has_media) {
      const img = /** @type {HTMLImageElement} */ (el('img'));
      img.className = 'blurred';
      img.alt = `Blurred grayscale preview of upload ${item.content_id}`;
      // Previews need the key too: fetched, then shown as a blob.
      loadInto(img, `/v1/cases/${c.id}/media/${encodeURIComponent(item.content_id)}?variant=preview`);
      media.append(img);
      const reveal = el('button', 'Reveal');
      reveal.setAttribute('aria-label', `Reveal upload ${item.content_id} (recorded as viewed)`);
      reveal.className = 'reveal';
      reveal.addEventListener('click', () => revealItem(item, media));
      media.append(reveal);
    } else {
      // Found later or by a sweep: the upload matched nothing when it came, so its bytes were not
      // kept; the platform supplies them (PUT /v1/cases/{id}/media/{content_id}).
      media.append(el('p', 'Media not kept: the upload matched nothing when it came. The platform can supply its bytes.'));
    }
    box.append(media);
    const details = el('div');
    details.append(el('p', `${item.content_id} · ${item.media_type} · ${item.state}`));
    const table = el('table');
    table.className = 'provenance';
    table.append(Object.assign(el('caption'), { textContent: 'Why it matched' }));
    const head = el('tr');
    for (const h of ['Bank', 'Signal', 'Distance', 'Source', 'External id', 'Class', 'Found', 'Entry reviews']) head.append(Object.assign(el('th', h), { scope: 'col' }));
    table.append(head);
    for (const m of item.matches) {
      const tr = el('tr');
      const signal = m.measure ? `${m.signal_type} (${m.measure})` : m.signal_type;
      const reviews = `${m.entry_confirmed || 0} confirmed, ${m.entry_rejected || 0} rejected`;
      for (const t of [m.bank, signal, String(m.distance), m.source, m.external_id, m.classification, foundText(m), reviews]) tr.append(el('td', t));
      table.append(tr);
    }
    details.append(table);
    box.append(details);
    items.append(box);
  }
  const history = $('history');
  history.replaceChildren();
  if (c.user) {
    history.append(el('p', `Account: ${c.user.account_state}; earlier confirmed cases: ${c.user.prior_confirmed_cases}`));
    // Strikes propose; the reviewer decides (an account action is chosen with the decision).
    const strikes = c.user.strikes;
    if (strikes) {
      history.append(el('p', `Strikes: ${strikes.points} points from ${strikes.cases} confirmed cases` +
                             (strikes.proposed ? ` — the strike policy proposes: ${strikes.proposed}` : '')));
    }
    const list = el('ul');
    for (const a of c.user.actions) list.append(el('li', `${a.kind} at ${new Date(a.created_at).toLocaleString()}`));
    history.append(list);
  }
}

/** How a match was found, in words. @param {Match} m */
function foundText(m) {
  const how = m.sweep_of ? `sweep of case #${m.sweep_of}` : m.retroactive ? 'later (the list gained it)' : 'at upload';
  if (m.suppressed_by) return `${how}; suppressed by allow-list entry ${m.suppressed_by}`;
  if (m.entry_quarantined) return `${how}; entry in flood quarantine`;
  return how;
}

/** Sweeps: the copies this case's decision found, or the case whose sweep found this one. @param {Case} c */
function renderSweep(c) {
  const box = $('case-sweep');
  box.replaceChildren();
  const link = (/** @type {number} */ id, /** @type {string} */ text) => {
    const b = el('button', text);
    b.setAttribute('type', 'button');
    b.className = 'link';
    b.addEventListener('click', () => openCase(id));
    return b;
  };
  const sweep = c.sweep && c.sweep.copies > 0 ? c.sweep : null;
  if (sweep) {
    const p = el('p', `${sweep.copies} ${sweep.copies === 1 ? 'copy' : 'copies'} by ${sweep.accounts} other ` +
                      `${sweep.accounts === 1 ? 'account' : 'accounts'} found by the sweep after this decision:`);
    const list = el('ul');
    for (const s of sweep.cases) {
      const li = el('li');
      if (s.case_id) li.append(link(s.case_id, `case #${s.case_id}`), ` · ${s.user_id || 'no user'} · ${s.copies} ${s.copies === 1 ? 'copy' : 'copies'}`);
      else li.append(`${s.user_id || 'no user'} · ${s.copies} (in no case: allow-listed)`);
      list.append(li);
    }
    box.append(p, list);
  }
  // Reports from users and staff (POST /v1/user-reports): who said what, about which upload.
  const reports = c.user_reports || [];
  if (reports.length > 0) {
    const list = el('ul');
    list.className = 'user-reports';
    for (const r of reports) {
      const who = r.source === 'escalation' ? `escalated by ${r.by}` : `reported by ${r.reporter || 'a user'}`;
      list.append(el('li', `${r.content_id}: ${who} (${r.category || 'no category'}, ${new Date(r.at).toLocaleString()})` +
                             (r.reason ? ` — “${r.reason}”` : '')));
    }
    box.append(el('p', reports.length === 1 ? 'Reported:' : `Reported ${reports.length} times:`), list);
  }
  for (const from of c.swept_from || []) {
    const p = el('p', 'Found by the sweep of ');
    if ((c.swept_from_overturned || []).includes(from)) {
      p.append(link(from, `case #${from}`), ', since overturned on appeal: the file it confirmed was restored. The sweep blocked these copies; decide them on their own.');
    } else {
      p.append(link(from, `case #${from}`), ' (a file confirmed violating there): decide this account on its own.');
    }
    box.append(p);
  }
  box.hidden = box.childElementCount === 0;
}

/** Loads an authenticated image URL into an <img>. @param {HTMLImageElement} img @param {string} url */
async function loadInto(img, url) {
  const response = await fetch(url, { headers: { Authorization: `Bearer ${state.key}` } });
  if (!response.ok) { img.alt = 'Preview unavailable'; return; }
  img.src = URL.createObjectURL(await response.blob());
}

/** @param {Item} item @param {HTMLElement} media */
async function revealItem(item, media) {
  if (state.reveals >= state.limit) { takeBreak(); return; }
  const c = /** @type {Case} */ (state.current);
  const response = await fetch(`/v1/cases/${c.id}/media/${encodeURIComponent(item.content_id)}?variant=original`,
                               { headers: { Authorization: `Bearer ${state.key}` } });
  if (!response.ok) {
    const data = await response.json();
    say(data.error ? data.error.message : 'Cannot reveal');
    return;
  }
  const url = URL.createObjectURL(await response.blob());
  media.replaceChildren();
  if (item.media_type.startsWith('video/')) {
    const video = /** @type {HTMLVideoElement} */ (el('video'));
    video.muted = true;
    video.autoplay = false;
    video.controls = true;
    video.preload = 'none';
    video.src = url;
    video.className = 'revealed';
    media.append(video);
  } else {
    const img = /** @type {HTMLImageElement} */ (el('img'));
    img.className = 'revealed';
    img.alt = `Upload ${item.content_id}, revealed`;
    img.src = url;
    media.append(img);
  }
  state.reveals += 1;
  sessionStorage.setItem('vigil-reveals', String(state.reveals));
  updateExposure();
  say(`Revealed ${item.content_id} (recorded)`);
  if (state.reveals >= state.limit) takeBreak();
}

function takeBreak() {
  $('break-count').textContent = String(state.reveals);
  $('break').hidden = false;
  $('break-done').focus();
}

async function claim() {
  const c = /** @type {Case} */ (state.current);
  try {
    await api('POST', `/v1/cases/${c.id}/claim`);
    state.current = await api('GET', `/v1/cases/${c.id}`);
    renderCase();
    say(`Claimed case #${c.id}`);
  } catch (e) { say(/** @type {Error} */ (e).message); }
}

/** @param {SubmitEvent | null} event */
async function decide(event) {
  if (event) event.preventDefault();
  const c = /** @type {Case} */ (state.current);
  const form = /** @type {HTMLFormElement} */ ($('decision-form'));
  const data = new FormData(form);
  /** @type {Record<string, string | number>} */
  const body = { verdict: String(data.get('verdict') || ''), reason: String(data.get('reason') || '') };
  if (data.get('classification')) body.classification = String(data.get('classification'));
  if (body.verdict === 'violating' && data.get('category')) body.category = String(data.get('category'));
  if (data.get('account_action')) body.account_action = String(data.get('account_action'));
  if (data.get('account_days')) body.account_days = Number(data.get('account_days'));
  try {
    await api('POST', `/v1/cases/${c.id}/decision`, body);
    state.current = await api('GET', `/v1/cases/${c.id}`);
    renderCase();
    say(`Decision recorded: case #${c.id} is ${/** @type {Case} */ (state.current).status}`);
  } catch (e) {
    const message = /** @type {Error} */ (e).message;
    // Refused because uploads joined the case after the claim: show the case as it is now.
    if (message.includes('after you claimed it')) {
      state.current = await api('GET', `/v1/cases/${c.id}`);
      renderCase();
    }
    say(message);
  }
}

/**
 * Buttons that act on one record, then reload the view and say what was done.
 * @param {HTMLElement} cell @param {string} kind @param {number | string} id
 * @param {[string, () => Promise<void>][]} actions @param {() => Promise<void>} reload
 */
function addActions(cell, kind, id, actions, reload) {
  for (const [label, run] of actions) {
    const b = el('button', label);
    b.setAttribute('aria-label', `${label} ${kind} ${id}`);
    b.addEventListener('click', async () => {
      try { await run(); await reload(); say(`${label}: ${kind} #${id}`); } catch (e) { say(/** @type {Error} */ (e).message); }
    });
    cell.append(b);
  }
}

async function loadAppeals() {
  show('appeals');
  /** @type {{appeals: Appeal[]}} */
  const data = await api('GET', '/v1/appeals');
  const rows = $('appeal-rows');
  rows.replaceChildren();
  for (const a of data.appeals) {
    const tr = el('tr');
    for (const t of [`#${a.id}`, a.user_id, `#${a.action_id}`, a.statement, a.original_decider, a.status]) tr.append(el('td', t));
    const act = el('td');
    addActions(act, 'appeal', a.id, [
      ['Claim', async () => { await api('POST', `/v1/appeals/${a.id}/claim`); }],
      ['Uphold', async () => { await api('POST', `/v1/appeals/${a.id}/decision`, { outcome: 'upheld', reason: prompt('Reason') || '' }); }],
      ['Overturn', async () => { await api('POST', `/v1/appeals/${a.id}/decision`, { outcome: 'overturned', reason: prompt('Reason') || '' }); }],
    ], loadAppeals);
    tr.append(act);
    rows.append(tr);
  }
}

/** The categories of violation in force (from the rules), cached for the session. @type {Category[] | null} */
let categories = null;

/** Fills the decision form's category list, selecting the case's. @param {string} selected */
async function fillCategories(selected) {
  const select = /** @type {HTMLSelectElement} */ ($('category'));
  if (categories === null) {
    try {
      /** @type {{categories: Category[]}} */
      const rules = await api('GET', '/v1/rules');
      categories = rules.categories || [];
    } catch { categories = []; }
  }
  select.replaceChildren();
  for (const c of categories) {
    const option = /** @type {HTMLOptionElement} */ (el('option', `${c.title}${c.cybertip ? ' (reported to NCMEC)' : ''}`));
    option.value = c.id;
    option.selected = c.id === selected;
    select.append(option);
  }
}

/** Shows a report exactly as it would be sent, as text, for the person about to approve it. @param {number} id */
async function previewReport(id) {
  /** @type {{report_xml: string, files: {content_id: string, file_details_xml: string}[], problem: string}} */
  const preview = await api('GET', `/v1/reports/${id}/preview`);
  const box = $('report-preview');
  box.hidden = false;
  $('report-preview-title').textContent = `Report #${id} as it would be sent`;
  $('report-preview-problem').textContent = preview.problem ? `Would not be filed as it stands: ${preview.problem}` : '';
  const parts = [preview.report_xml, ...preview.files.map((f) => `<!-- fileDetails of ${f.content_id} -->\n${f.file_details_xml}`)];
  $('report-preview-xml').textContent = parts.join('\n');
  $('report-preview-title').focus();
}

async function loadReports() {
  show('reports');
  /** @type {{reports: TipReport[]}} */
  const data = await api('GET', '/v1/reports');
  const rows = $('report-rows');
  rows.replaceChildren();
  for (const r of data.reports) {
    const tr = el('tr');
    tr.dataset.reportId = String(r.id);
    // What a person needs to know: the error that stopped it, or why it was withdrawn.
    const answer = r.last_error || r.withdraw_reason || (r.state === 'filed' ? 'filed' : '');
    for (const t of [`#${r.id}`, `#${r.case_id}`, r.user_id, String(r.files.length), r.state, r.ncmec_report_id,
                     r.approved_by, answer]) tr.append(el('td', t));
    const act = el('td');
    /** @type {[string, () => Promise<void>][]} */
    const actions = [];
    actions.push(['Preview', async () => { await previewReport(r.id); }]);
    if (r.state === 'draft') actions.push(['Approve', async () => { await api('POST', `/v1/reports/${r.id}/approve`); }]);
    if (r.state === 'approved' || r.state === 'open') {
      actions.push(['File now', async () => { await api('POST', `/v1/reports/${r.id}/file`); }]);
    }
    if (r.state === 'draft' || r.state === 'approved' || r.state === 'open') {
      actions.push(['Retract', async () => {
        const reason = prompt('Why is this report withdrawn?');
        if (reason) await api('POST', `/v1/reports/${r.id}/retract`, { reason });
      }]);
    }
    addActions(act, 'report', r.id, actions, loadReports);
    tr.append(act);
    rows.append(tr);
  }
}

/** A lag in words: "3 min", "2 h", "5 d". @param {number | null} seconds */
function lagText(seconds) {
  if (seconds === null) return '';
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} d`;
}

async function loadExchanges() {
  show('exchanges');
  /** @type {{exchanges: Exchange[]}} */
  const data = await api('GET', '/v1/exchanges');
  const rows = $('exchange-rows');
  rows.replaceChildren();
  for (const x of data.exchanges) {
    const tr = el('tr');
    tr.dataset.exchange = x.name;
    const s = x.status;
    const result = s.syncing ? `syncing (${s.syncing})` : s.ok === null ? 'never run' : s.ok ? `ok: +${s.last_added} -${s.last_removed}` : s.last_error;
    for (const t of [x.name, x.kind, x.bank, x.enabled ? 'on' : 'off', s.last_run_at || '', result, String(s.last_fetched),
                     lagText(s.lag_seconds), x.feedback ? `${s.feedback_sent} / ${s.feedback_queued} / ${s.feedback_failed}` : 'off']) {
      tr.append(el('td', t));
    }
    if (s.ok === false) tr.classList.add('failed');
    const act = el('td');
    /** @type {[string, () => Promise<void>][]} */
    const actions = [['Sync now', async () => {
      /** @type {{fetched: number, added: number, removed: number}} */
      const r = await api('POST', `/v1/exchanges/${encodeURIComponent(x.name)}/sync`);
      say(`${x.name}: ${r.fetched} fetched, ${r.added} added, ${r.removed} removed`);
    }]];
    actions.push(x.enabled ? ['Switch off', async () => { await api('PATCH', `/v1/exchanges/${encodeURIComponent(x.name)}`, { enabled: false }); }]
                           : ['Switch on', async () => { await api('PATCH', `/v1/exchanges/${encodeURIComponent(x.name)}`, { enabled: true }); }]);
    if (x.feedback) actions.push(['Send feedback', async () => { await api('POST', `/v1/exchanges/${encodeURIComponent(x.name)}/feedback`); }]);
    addActions(act, 'exchange', x.name, actions, loadExchanges);
    tr.append(act);
    rows.append(tr);
  }
}

/** The transparency report (the server's own HTML, no scripts) for the last 12 whole months. */
async function loadTransparency() {
  const now = new Date();
  const to = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
  const from = new Date(Date.UTC(to.getUTCFullYear() - 1, to.getUTCMonth(), 1));
  const day = (/** @type {Date} */ d) => d.toISOString().slice(0, 10);
  const response = await fetch(`/v1/transparency?from=${day(from)}&to=${day(to)}&format=html`,
                               { headers: { Authorization: `Bearer ${state.key}` } });
  if (!response.ok) throw new Error(`transparency report: HTTP ${response.status}`);
  const frame = /** @type {HTMLIFrameElement} */ ($('transparency'));
  frame.srcdoc = await response.text();
  frame.hidden = false;
}

function onKey(/** @type {KeyboardEvent} */ e) {
  if ($('case').hidden || !$('break').hidden) return;
  const target = /** @type {HTMLElement} */ (e.target);
  const typing = target.tagName === 'TEXTAREA' || (target.tagName === 'INPUT' && /** @type {HTMLInputElement} */ (target).type !== 'radio');
  if (e.key === 'Enter' && e.ctrlKey) { e.preventDefault(); decide(null); return; }
  if (typing) return;
  const verdicts = { v: 'violating', n: 'not_violating', e: 'escalate' };
  if (e.key in verdicts) {
    const value = verdicts[/** @type {'v'|'n'|'e'} */ (e.key)];
    const radio = /** @type {HTMLInputElement} */ (document.querySelector(`input[name=verdict][value=${value}]`));
    radio.checked = true;
    e.preventDefault();
    (value === 'violating' ? $('classification') : $('reason')).focus();
  } else if (e.key === 'c') {
    claim();
  } else if (e.key === 'r') {
    const next = /** @type {HTMLButtonElement | null} */ (document.querySelector('#items .reveal'));
    if (next) next.click();
  }
}

async function start() {
  updateExposure();
  if (!state.key) { show('login'); return; }
  try {
    await loadQueue();
  } catch (e) {
    // Legal staff may not see the queue: their view is the reports; bank admins', the exchanges.
    if (/** @type {{status?: number}} */ (e).status === 403) {
      try { await loadReports(); return; } catch { /* the next view */ }
      try { await loadExchanges(); return; } catch { /* fall through to sign-in */ }
    }
    say(/** @type {Error} */ (e).message);
    show('login');
  }
}

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  state.key = /** @type {HTMLInputElement} */ ($('key')).value.trim();
  state.limit = Number(/** @type {HTMLInputElement} */ ($('limit')).value) || 20;
  sessionStorage.setItem('vigil-key', state.key);
  sessionStorage.setItem('vigil-limit', String(state.limit));
  await start();
});
$('logout').addEventListener('click', () => { sessionStorage.clear(); state.key = ''; state.reveals = 0; start(); });
$('nav-queue').addEventListener('click', () => loadQueue().catch((e) => say(e.message)));
$('nav-appeals').addEventListener('click', () => loadAppeals().catch((e) => say(e.message)));
$('nav-reports').addEventListener('click', () => loadReports().catch((e) => say(e.message)));
$('nav-exchanges').addEventListener('click', () => loadExchanges().catch((e) => say(e.message)));
$('transparency-load').addEventListener('click', () => loadTransparency().catch((e) => say(e.message)));
$('claim').addEventListener('click', claim);
$('decision-form').addEventListener('submit', (e) => decide(/** @type {SubmitEvent} */ (e)));
$('break-done').addEventListener('click', () => {
  state.reveals = 0;
  sessionStorage.setItem('vigil-reveals', '0');
  $('break').hidden = true;
  updateExposure();
});
document.addEventListener('keydown', onKey);
start();
