// @ts-check
// Vigil review console: a small, dependency-free client of the /v1 API (types in JSDoc, checked
// with `tsc --checkJs`). The reviewer key lives in sessionStorage only. Media are requested as
// blurred grayscale previews; the original is fetched only when the reviewer reveals an item, and
// the server records that reveal as a view. The server enforces the organisation's reveal limit and
// breaks ([wellness]); the console follows it: the break dialog counts down, every revealed item is
// covered again on a break, on "Blur again" and on leaving the case, and the server is told
// (POST /v1/me/cover) so that exposure figures end there. Revealed images show in grey until hovered
// or switched to colour; revealed videos show the blurred poster until played.

/** @typedef {{bank: string, signal_type: string, distance: number, source: string, external_id: string, classification: string, measure?: string, query_match_percent?: number, retroactive?: boolean, sweep_of?: number, suppressed_by?: number, entry_quarantined?: boolean, entry_confirmed?: number, entry_rejected?: number}} Match */
/** @typedef {{classifier: string, model: string, version: string, labels: {label: string, score: number}[], error: string | null}} Classification */
/** @typedef {{content_id: string, media_type: string, state: string, has_media: boolean, matches: Match[], classifications?: Classification[]}} Item */
/** @typedef {{id: number, reviewer: string, verdict: string, category: string, classification: string, account_action: string, reason: string, viewed: string[], second_review: boolean, decided_at: string}} Decision */
/** @typedef {{id: number, user_id: string, status: string, priority: number, category: string, report_problem: string, sla_due: string, assigned_to: string, item_count?: number, queue?: string, awaiting_second_review?: boolean, second_review_required?: boolean, updated_at?: string, decisions?: Decision[], items?: Item[], rules?: string[], swept_from?: number[], swept_from_overturned?: number[], user_reports?: {content_id: string, source: string, reporter: string, reason: string, category: string, by: string, at: string}[], sweep?: {copies: number, accounts: number, cases: {case_id: number, user_id: string, copies: number}[]}, user?: {account_state: string, prior_confirmed_cases: number, strikes?: {points: number, cases: number, proposed: string|null}, actions: {kind: string, created_at: string}[]}}} Case */
/** @typedef {{id: string, title: string, cybertip: boolean, classifications: string[]}} Category */
/** @typedef {{id: number, action_id: number, case_id: number, action_ids: number[], undone: number[], user_id: string, statement: string, status: string, original_decider: string, assigned_to: string, decided_by: string, reason: string, sla_due: string, decided_at: string | null}} Appeal */
/** @typedef {{name: string, title: string, open_to_all: boolean, members: string[], sla_hours: number | null, open: number, in_review: number, escalated: number, overdue: number, oldest_due: string | null}} Queue */
/** @typedef {{reviewer: string, reveal_limit: number, org_reveal_limit: number, manager_reveal_limit: number | null, own_reveal_limit: number | null, reveals: number, remaining: number, on_break: boolean, break_seconds_left: number, break_minutes: number}} Wellness */
/** @typedef {{name: string, category: string, labels: string[], live_entries: number, enabled: boolean}} Bank */
/** @typedef {{id: number, signal_type: string, value: string, external_id: string, classification: string, source: string, added_at: string}} Entry */
/** @typedef {{id: number, bank: string, signal_type: string, value: string, reason: string, created_by: string, created_at: string, revoked_at: string | null}} Override */
/** @typedef {{id: number, format: string, source: string, actor: string, status: string, added: number, removed: number, started_at: string}} ImportRecord */
/** @typedef {{name: string, kind: string, bank: string, enabled: boolean, feedback: boolean, status: {last_run_at: string | null, ok: boolean | null, last_error: string, last_fetched: number, last_added: number, last_removed: number, lag_seconds: number | null, syncing: string | null, feedback_sent: number, feedback_queued: number, feedback_failed: number}}} Exchange */
/** @typedef {{id: number, case_id: number, user_id: string, state: string, ncmec_report_id: string, approved_by: string, last_code: number, last_error: string, withdraw_reason: string, files: {content_id: string, state: string}[]}} TipReport */

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

const state = {
  key: sessionStorage.getItem('vigil-key') || '',
  /** Signed in through the identity provider: the session is a cookie the page cannot read; calls
   * that change anything carry its CSRF token (GET /v1/me). */
  session: false,
  csrf: '',
  /** The server's account of the reviewer's reveals and break (GET /v1/me/wellness). @type {Wellness | null} */
  wellness: null,
  /** @type {Case | null} */
  current: null,
  /** @type {Appeal | null} */
  appeal: null,
  /** @type {Case | null} */
  appealCase: null,
  /** The bank open in the curation view. @type {string} */
  bank: '',
  /** @type {number | undefined} */
  breakTimer: undefined,
};

const kViews = ['login', 'queue', 'case', 'appeals', 'appeal', 'history', 'reports', 'exchanges', 'banks', 'bank', 'wellness'];

/**
 * Calls the API with the reviewer key; throws the server's error message.
 * @param {string} method @param {string} path @param {object} [body]
 */
async function api(method, path, body) {
  /** @type {RequestInit} */
  const init = { method, headers: authHeaders(method) };
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

/**
 * The caller's credential: the API key typed in, or (signed in through the identity provider) the
 * session cookie the browser sends itself, with the CSRF token on calls that change something.
 * @param {string} [method] @returns {Record<string, string>}
 */
function authHeaders(method = 'GET') {
  if (!state.session) return { Authorization: `Bearer ${state.key}` };
  return method === 'GET' || method === 'HEAD' ? {} : { 'X-CSRF-Token': state.csrf };
}

/** @param {string} text */
function say(text) { $('message').textContent = text; }

/** @param {string} name */
function show(name) {
  // Leaving a case or an appeal covers what was revealed there.
  if (name !== 'case' && name !== 'appeal') coverRevealed();
  for (const id of kViews) $(id).hidden = id !== name;
  const heading = $(name).querySelector('h2');
  if (heading) { heading.setAttribute('tabindex', '-1'); heading.focus(); }
}

function updateExposure() {
  const w = state.wellness;
  $('take-break').hidden = !w;
  if (!w) { $('exposure').textContent = ''; return; }
  const setBy = w.own_reveal_limit === w.reveal_limit ? 'you' : w.manager_reveal_limit === w.reveal_limit ? 'your manager' : 'your organisation';
  $('exposure').textContent = w.on_break ? 'On a break' : `Reveals before a break: ${w.reveals} of ${w.reveal_limit} (limit set by ${setBy})`;
}

/** Reads the reviewer's reveals and break from the server (reviewers only; null for other roles). */
async function refreshWellness() {
  try { state.wellness = await api('GET', '/v1/me/wellness'); } catch { state.wellness = null; }
  updateExposure();
  return state.wellness;
}

/** Creates an element with text. @param {string} tag @param {string} [text] */
function el(tag, text) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  return e;
}

/** The queues the reviewer works, with counts and a "Next case" button each. */
async function loadQueues() {
  /** @type {{queues: Queue[]}} */
  const data = await api('GET', '/v1/queues');
  const rows = $('queues-rows');
  rows.replaceChildren();
  for (const q of data.queues) {
    const tr = el('tr');
    tr.dataset.queue = q.name;
    const cells = [q.title === q.name ? q.name : `${q.title} (${q.name})`, String(q.open), String(q.in_review), String(q.escalated),
                   String(q.overdue), q.sla_hours ? `${q.sla_hours} h` : 'by priority',
                   q.open_to_all ? 'every reviewer' : q.members.join(', ') || 'nobody yet'];
    cells.forEach((text, i) => {
      const td = el('td', text);
      if (i === 4 && q.overdue > 0) td.className = 'priority-0';
      tr.append(td);
    });
    const act = el('td');
    const next = el('button', 'Next case');
    next.setAttribute('aria-label', `Next case from queue ${q.name}`);
    next.addEventListener('click', () => nextCase(q.name));
    act.append(next);
    tr.append(act);
    rows.append(tr);
  }
}

/** Claims the most urgent case of a queue and opens it; back to the queue when there is none. @param {string} queue */
async function nextCase(queue) {
  try {
    /** @type {Case} */
    const claimed = await api('POST', `/v1/queues/${encodeURIComponent(queue)}/next`);
    await openCase(claimed.id);
    say(`Claimed case #${claimed.id} from queue ${queue}`);
  } catch (e) {
    await loadQueue();
    say(/** @type {Error} */ (e).message);
  }
}

async function loadQueue() {
  show('queue');
  await loadQueues();
  const own = /** @type {HTMLInputElement} */ ($('own-limit'));
  own.value = state.wellness && state.wellness.own_reveal_limit ? String(state.wellness.own_reveal_limit) : '';
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
    const status = c.awaiting_second_review ? `${c.status} · second review` : c.status;
    const cells = [`#${c.id}`, c.queue || 'general', c.user_id, `P${c.priority}`, new Date(c.sla_due).toLocaleString(),
                   String(c.item_count ?? 0), status, c.assigned_to || '-'];
    cells.forEach((text, i) => {
      const td = el('td', text);
      if (i === 3) td.className = `priority-${c.priority}`;
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
  coverRevealed();
  state.current = await api('GET', `/v1/cases/${id}`);
  renderCase();
  show('case');
}

function renderCase() {
  const c = /** @type {Case} */ (state.current);
  $('case-title').textContent = `Case #${c.id}`;
  $('case-summary').textContent = `User ${c.user_id} · queue ${c.queue || 'general'} · ${c.status} · P${c.priority} (P0 is the most urgent) · ` +
    `category: ${c.category || 'none'} · due ${new Date(c.sla_due).toLocaleString()}` +
    ` · rules: ${(c.rules || []).join(', ')} · reviewer: ${c.assigned_to || 'none'}`;
  // A decided case that cannot be reported says why, until it is corrected.
  const problem = $('case-report-problem');
  problem.hidden = !c.report_problem;
  problem.textContent = c.report_problem ? `This case cannot be reported to NCMEC as it stands: ${c.report_problem}` : '';
  renderSweep(c);
  fillCategories(c.category);
  renderItems($('items'), c, 0);
  const second = $('case-second-review');
  const first = (c.decisions || []).find((d) => !d.second_review && d.verdict === 'violating');
  second.hidden = !c.awaiting_second_review;
  second.textContent = c.awaiting_second_review && first
    ? `Second review: ${first.reviewer} decided this case violating (${first.account_action || 'no account action'}); ` +
      'a different reviewer decides it again before anything is enforced. Agreeing enforces it; disagreeing escalates it.'
    : '';
  $('claim').hidden = c.status === 'decided' || c.status === 'closed';
  $('decision-form').hidden = c.status === 'decided' || c.status === 'closed';
  const history = $('user-history');
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

/** Loads an authenticated image URL into an <img>; its object URL. @param {HTMLImageElement} img @param {string} url */
async function loadInto(img, url) {
  const response = await fetch(url, { headers: authHeaders() });
  if (!response.ok) { img.alt = 'Preview unavailable'; return ''; }
  const objectUrl = URL.createObjectURL(await response.blob());
  img.src = objectUrl;
  return objectUrl;
}

/**
 * A case's uploads: each blurred with a Reveal button, and why it matched. `appealId`: revealed as
 * that appeal's reviewer (the case is decided; the appeal is theirs).
 * @param {HTMLElement} container @param {Case} c @param {number} appealId
 */
function renderItems(container, c, appealId) {
  container.replaceChildren();
  for (const item of c.items || []) {
    const box = el('article');
    box.className = 'item';
    box.dataset.contentId = item.content_id;
    const media = el('div');
    media.className = 'media';
    if (item.has_media) {
      blurInto(media, item, c.id, appealId);
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
    if (item.matches.length > 0 || !(item.classifications || []).length) details.append(table);
    // A classifier's scores: why it is in front of a reviewer when no list matched. A score is a
    // reason to look, never a finding.
    if ((item.classifications || []).length > 0) {
      const scores = el('table');
      scores.className = 'provenance classifier-scores';
      scores.append(Object.assign(el('caption'), { textContent: 'Classifier scores (a reason to look, not a finding)' }));
      const row = el('tr');
      for (const h of ['Classifier', 'Model', 'Label', 'Score']) row.append(Object.assign(el('th', h), { scope: 'col' }));
      scores.append(row);
      for (const k of item.classifications || []) {
        const model = k.version ? `${k.model} ${k.version}` : k.model;
        if (k.error) {
          const tr = el('tr');
          for (const t of [k.classifier, model, 'not scored', k.error]) tr.append(el('td', t));
          scores.append(tr);
          continue;
        }
        for (const l of k.labels) {
          const tr = el('tr');
          for (const t of [k.classifier, model, l.label, l.score.toFixed(2)]) tr.append(el('td', t));
          scores.append(tr);
        }
      }
      details.append(scores);
    }
    box.append(details);
    container.append(box);
  }
}

/** The blurred grayscale preview with its Reveal button. @param {HTMLElement} media @param {Item} item @param {number} caseId @param {number} appealId */
function blurInto(media, item, caseId, appealId) {
  media.replaceChildren();
  const img = /** @type {HTMLImageElement} */ (el('img'));
  img.className = 'blurred';
  img.alt = `Blurred grayscale preview of upload ${item.content_id}`;
  // Previews need the key too: fetched, then shown as a blob.
  loadInto(img, `/v1/cases/${caseId}/media/${encodeURIComponent(item.content_id)}?variant=preview`);
  media.append(img);
  const reveal = el('button', 'Reveal');
  reveal.setAttribute('aria-label', `Reveal upload ${item.content_id} (recorded as viewed)`);
  reveal.className = 'reveal';
  reveal.addEventListener('click', () => revealItem(item, media, caseId, appealId));
  media.append(reveal);
}

/** What is revealed on screen now: to cover again on a break, "Blur again" or leaving the case. */
const revealed = new Map(/** @type {[HTMLElement, {item: Item, caseId: number, appealId: number, urls: string[]}][]} */ ([]));

/** @param {Item} item @param {HTMLElement} media @param {number} caseId @param {number} appealId */
async function revealItem(item, media, caseId, appealId) {
  if (state.wellness && state.wellness.on_break) { await takeBreak(false); return; }
  const url = `/v1/cases/${caseId}/media/${encodeURIComponent(item.content_id)}?variant=original` +
              (appealId ? `&appeal=${appealId}` : '');
  const response = await fetch(url, { headers: authHeaders() });
  if (!response.ok) {
    const data = await response.json();
    // The organisation's limit reached or a break running: the server refused; the break it is.
    if (data.error && data.error.code === 'break_required') { await takeBreak(false); return; }
    say(data.error ? data.error.message : 'Cannot reveal');
    return;
  }
  const objectUrl = URL.createObjectURL(await response.blob());
  const urls = [objectUrl];
  media.replaceChildren();
  if (item.media_type.startsWith('video/')) {
    // No frame in colour until the reviewer presses play: the poster is the blurred preview and
    // nothing is preloaded.
    const video = /** @type {HTMLVideoElement} */ (el('video'));
    video.muted = true;
    video.autoplay = false;
    video.controls = true;
    video.preload = 'none';
    video.className = 'revealed';
    const poster = await fetch(`/v1/cases/${caseId}/media/${encodeURIComponent(item.content_id)}?variant=preview`,
                               { headers: authHeaders() });
    if (poster.ok) { const p = URL.createObjectURL(await poster.blob()); urls.push(p); video.poster = p; }
    video.src = objectUrl;
    media.append(video);
  } else {
    // Grey until hovered or switched to colour: the reviewer sees as little as the decision needs.
    const img = /** @type {HTMLImageElement} */ (el('img'));
    img.className = 'revealed grey';
    img.alt = `Upload ${item.content_id}, revealed`;
    img.src = objectUrl;
    media.append(img);
    const colour = el('button', 'Show colour');
    colour.setAttribute('aria-pressed', 'false');
    colour.addEventListener('click', () => {
      const on = img.classList.toggle('grey');
      colour.setAttribute('aria-pressed', String(!on));
      colour.textContent = on ? 'Show colour' : 'Grey again';
    });
    media.append(colour);
  }
  const again = el('button', 'Blur again');
  again.setAttribute('aria-label', `Blur upload ${item.content_id} again`);
  again.addEventListener('click', () => { cover(media); void api('POST', '/v1/me/cover').catch(() => {}); });
  media.append(again);
  revealed.set(media, { item, caseId, appealId, urls });
  await refreshWellness();
  say(`Revealed ${item.content_id} (recorded)` +
      (state.wellness && state.wellness.remaining === 0 ? ': that was the last before your break' : ''));
}

/** Covers one revealed item again. @param {HTMLElement} media */
function cover(media) {
  const shown = revealed.get(media);
  if (!shown) return;
  revealed.delete(media);
  for (const u of shown.urls) URL.revokeObjectURL(u);
  if (media.isConnected) blurInto(media, shown.item, shown.caseId, shown.appealId);
  else media.replaceChildren();
}

/** Covers everything revealed and tells the server (exposure ends now). */
function coverRevealed() {
  if (revealed.size === 0) return;
  for (const media of [...revealed.keys()]) cover(media);
  void api('POST', '/v1/me/cover').catch(() => {});
}

/**
 * The break: everything covered, a countdown from the server's end of the break, and the dialog
 * stays until it ends (the server refuses originals until then anyway).
 * @param {boolean} chosen the reviewer asked for it (else the server started it)
 */
async function takeBreak(chosen) {
  coverRevealed();
  try {
    state.wellness = chosen ? await api('POST', '/v1/me/break') : await api('GET', '/v1/me/wellness');
  } catch (e) { say(/** @type {Error} */ (e).message); return; }
  updateExposure();
  const w = /** @type {Wellness} */ (state.wellness);
  $('break-count').textContent = String(w.reveals || w.reveal_limit);
  $('break').hidden = false;
  const done = /** @type {HTMLButtonElement} */ ($('break-done'));
  const ends = Date.now() + w.break_seconds_left * 1000;
  const tick = () => {
    const left = Math.max(0, Math.ceil((ends - Date.now()) / 1000));
    $('break-timer').textContent = left > 0 ? `The break ends in ${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')}` : 'The break is over.';
    done.disabled = left > 0;
    if (left === 0) window.clearInterval(state.breakTimer);
  };
  window.clearInterval(state.breakTimer);
  state.breakTimer = window.setInterval(tick, 1000);
  tick();
  $('break-title').focus();
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
    /** @type {Case} */
    const after = await api('POST', `/v1/cases/${c.id}/decision`, body);
    const recorded = `Decision recorded: case #${c.id} is ${after.status}`;
    /** @type {HTMLFormElement} */ ($('decision-form')).reset();
    // A sweep's copies are worth a look before moving on; otherwise the next case of the queue.
    state.current = await api('GET', `/v1/cases/${c.id}`);
    if (state.current && state.current.sweep && state.current.sweep.copies > 0) {
      renderCase();
      say(recorded);
      return;
    }
    try {
      /** @type {Case} */
      const next = await api('POST', `/v1/queues/${encodeURIComponent(c.queue || 'general')}/next`);
      await openCase(next.id);
      say(`${recorded}. Next: case #${next.id}, claimed`);
    } catch {
      await loadQueue();
      say(`${recorded}. Queue ${c.queue || 'general'} has nothing more for you`);
    }
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
    tr.tabIndex = 0;
    tr.dataset.appealId = String(a.id);
    for (const t of [`#${a.id}`, `#${a.case_id}`, a.user_id, a.statement, a.original_decider,
                     a.assigned_to ? `${a.status} (${a.assigned_to})` : a.status, new Date(a.sla_due).toLocaleString()]) {
      tr.append(el('td', t));
    }
    tr.addEventListener('click', () => openAppeal(a.id));
    tr.addEventListener('keydown', (e) => { if (e.key === 'Enter') openAppeal(a.id); });
    rows.append(tr);
  }
}

/** An appeal with its case: the statement, the decisions and their reasons, the media. @param {number} id */
async function openAppeal(id) {
  coverRevealed();
  state.appeal = await api('GET', `/v1/appeals/${id}`);
  const a = /** @type {Appeal} */ (state.appeal);
  state.appealCase = a.case_id ? await api('GET', `/v1/cases/${a.case_id}`) : null;
  renderAppeal();
  show('appeal');
}

function renderAppeal() {
  const a = /** @type {Appeal} */ (state.appeal);
  const c = state.appealCase;
  const mine = a.status === 'in_review' && a.assigned_to === (state.wellness ? state.wellness.reviewer : '');
  $('appeal-title').textContent = `Appeal #${a.id}`;
  $('appeal-summary').textContent = `User ${a.user_id} · ${a.status}${a.assigned_to ? ` (${a.assigned_to})` : ''} · ` +
    `case #${a.case_id}${c ? ` (queue ${c.queue || 'general'}, category ${c.category || 'none'})` : ''} · ` +
    `covers actions ${a.action_ids.map((n) => `#${n}`).join(', ')} · due ${new Date(a.sla_due).toLocaleString()}` +
    (a.decided_by ? ` · decided by ${a.decided_by}: ${a.reason}` : '');
  $('appeal-statement').textContent = a.statement ? `The user says: “${a.statement}”` : 'The user gave no statement.';
  const rows = $('appeal-decisions');
  rows.replaceChildren();
  for (const d of (c && c.decisions) || []) {
    const tr = el('tr');
    for (const t of [d.reviewer + (d.second_review ? ' (second review)' : ''), d.verdict, d.category, d.classification,
                     d.account_action || 'none', d.reason, d.viewed.join(', ') || 'nothing', new Date(d.decided_at).toLocaleString()]) {
      tr.append(el('td', t));
    }
    rows.append(tr);
  }
  if (c) renderItems($('appeal-items'), c, mine ? a.id : 0);
  else $('appeal-items').replaceChildren(el('p', 'The policy acted on its own: no case to show.'));
  const open = a.status === 'open' || a.status === 'in_review';
  $('appeal-claim').hidden = !open || mine;
  $('appeal-form').hidden = !open;
  for (const b of $('appeal-items').querySelectorAll('button.reveal')) /** @type {HTMLButtonElement} */ (b).disabled = !mine;
}

async function claimAppeal() {
  const a = /** @type {Appeal} */ (state.appeal);
  try {
    await api('POST', `/v1/appeals/${a.id}/claim`);
    await openAppeal(a.id);
    say(`Claimed appeal #${a.id}`);
  } catch (e) { say(/** @type {Error} */ (e).message); }
}

/** Uphold or overturn, the reason typed inline; then the next open appeal. @param {SubmitEvent} event */
async function decideAppeal(event) {
  event.preventDefault();
  const a = /** @type {Appeal} */ (state.appeal);
  const submitter = /** @type {HTMLButtonElement | null} */ (event.submitter);
  const outcome = submitter ? submitter.value : '';
  const data = new FormData(/** @type {HTMLFormElement} */ ($('appeal-form')));
  /** @type {Record<string, string>} */
  const body = { outcome, reason: String(data.get('reason') || '') };
  if (data.get('user_statement')) body.user_statement = String(data.get('user_statement'));
  try {
    /** @type {Appeal} */
    const decided = await api('POST', `/v1/appeals/${a.id}/decision`, body);
    /** @type {HTMLFormElement} */ ($('appeal-form')).reset();
    const recorded = `Appeal #${a.id} ${decided.status}`;
    /** @type {{appeals: Appeal[]}} */
    const open = await api('GET', '/v1/appeals');
    const me = state.wellness ? state.wellness.reviewer : '';
    const next = open.appeals.find((x) => x.status === 'open' && x.original_decider !== me);
    if (next) {
      await openAppeal(next.id);
      say(`${recorded}. Next: appeal #${next.id}`);
    } else {
      await loadAppeals();
      say(`${recorded}. No open appeal left`);
    }
  } catch (e) { say(/** @type {Error} */ (e).message); }
}

/** Decided cases and appeals, searched by user and upload. */
async function loadHistory() {
  show('history');
  const form = new FormData(/** @type {HTMLFormElement} */ ($('history-form')));
  const query = new URLSearchParams();
  for (const name of ['user_id', 'content_id']) {
    const v = String(form.get(name) || '').trim();
    if (v) query.set(name, v);
  }
  const extra = query.toString() ? `&${query}` : '';
  /** @type {{cases: Case[]}} */
  const cases = await api('GET', `/v1/cases?status=decided,closed&limit=100${extra}`);
  const rows = $('history-cases');
  rows.replaceChildren();
  for (const c of cases.cases) {
    const tr = el('tr');
    tr.tabIndex = 0;
    tr.dataset.caseId = String(c.id);
    for (const t of [`#${c.id}`, c.queue || 'general', c.user_id, c.category, c.status, String(c.item_count ?? 0),
                     c.updated_at ? new Date(c.updated_at).toLocaleString() : '']) tr.append(el('td', t));
    tr.addEventListener('click', () => openCase(c.id));
    tr.addEventListener('keydown', (e) => { if (e.key === 'Enter') openCase(c.id); });
    rows.append(tr);
  }
  /** @type {{appeals: Appeal[]}} */
  const appeals = await api('GET', `/v1/appeals?status=decided&limit=100${extra}`);
  const appealRows = $('history-appeals');
  appealRows.replaceChildren();
  for (const a of appeals.appeals) {
    const tr = el('tr');
    tr.tabIndex = 0;
    tr.dataset.appealId = String(a.id);
    for (const t of [`#${a.id}`, `#${a.case_id}`, a.user_id, a.status, a.decided_by,
                     a.decided_at ? new Date(a.decided_at).toLocaleString() : '']) tr.append(el('td', t));
    tr.addEventListener('click', () => openAppeal(a.id));
    tr.addEventListener('keydown', (e) => { if (e.key === 'Enter') openAppeal(a.id); });
    appealRows.append(tr);
  }
}

/** Managers (admins, auditors): each reviewer's exposure, and a lower limit for one of them. */
async function loadWellness() {
  show('wellness');
  /** @type {{reviewers: {reviewer: string, reveals: number, cases: number, exposure_minutes: number, breaks: number, forced_breaks: number, days_with_reveals: number}[]}} */
  const data = await api('GET', '/v1/wellness/exposure');
  const rows = $('exposure-rows');
  rows.replaceChildren();
  for (const r of data.reviewers) {
    const tr = el('tr');
    tr.dataset.reviewer = r.reviewer;
    for (const t of [r.reviewer, String(r.reveals), String(r.cases), String(r.exposure_minutes),
                     `${r.breaks} (${r.forced_breaks})`, String(r.days_with_reveals)]) tr.append(el('td', t));
    rows.append(tr);
  }
}

/** Bank curation (bank admins): the banks. */
async function loadBanks() {
  show('banks');
  /** @type {{banks: Bank[]}} */
  const data = await api('GET', '/v1/banks');
  const rows = $('bank-rows');
  rows.replaceChildren();
  for (const b of data.banks) {
    const tr = el('tr');
    tr.tabIndex = 0;
    tr.dataset.bank = b.name;
    for (const t of [b.name, b.category || '', (b.labels || []).join(', '), String(b.live_entries), b.enabled ? 'on' : 'off']) {
      tr.append(el('td', t));
    }
    tr.addEventListener('click', () => openBank(b.name));
    tr.addEventListener('keydown', (e) => { if (e.key === 'Enter') openBank(b.name); });
    rows.append(tr);
  }
}

/** One bank: its entries (searched), the entries disabled here, its imports. @param {string} name */
async function openBank(name) {
  state.bank = name;
  /** @type {HTMLFormElement} */ ($('entry-search')).reset();
  await renderBank();
  show('bank');
}

/** Counts renderings of the bank view: a slower, older one never replaces a newer one's rows. */
let bankRendering = 0;

async function renderBank() {
  const mine = ++bankRendering;
  const stale = () => mine !== bankRendering;
  const name = state.bank;
  const path = `/v1/banks/${encodeURIComponent(name)}`;
  /** @type {Bank} */
  const bank = await api('GET', path);
  if (stale()) return;
  $('bank-title').textContent = `Bank ${name}`;
  $('bank-summary').textContent = `${bank.live_entries} live entries · category ${bank.category || 'none'} · ` +
    `labels ${(bank.labels || []).join(', ') || 'none'} · matching ${bank.enabled ? 'on' : 'off'}`;
  const form = new FormData(/** @type {HTMLFormElement} */ ($('entry-search')));
  const query = new URLSearchParams({ limit: '100' });
  for (const field of ['value', 'external_id', 'classification']) {
    const v = String(form.get(field) || '').trim();
    if (v) query.set(field, v);
  }
  /** @type {{entries: Entry[]}} */
  const entries = await api('GET', `${path}/entries?${query}`);
  if (stale()) return;
  const rows = $('entry-rows');
  rows.replaceChildren();
  for (const e of entries.entries) {
    const tr = el('tr');
    tr.dataset.entryId = String(e.id);
    for (const t of [`#${e.id}`, e.signal_type, e.value.length > 20 ? `${e.value.slice(0, 20)}…` : e.value, e.external_id,
                     e.classification, e.source, new Date(e.added_at).toLocaleDateString()]) tr.append(el('td', t));
    const act = el('td');
    const reason = /** @type {HTMLInputElement} */ (el('input'));
    reason.setAttribute('aria-label', `Why entry ${e.id} is disabled`);
    reason.placeholder = 'reason';
    const disable = el('button', 'Disable');
    disable.setAttribute('aria-label', `Disable entry ${e.id}`);
    disable.addEventListener('click', async () => {
      if (!reason.value.trim()) { say('Say why the entry is disabled'); reason.focus(); return; }
      try {
        await api('POST', `/v1/entries/${e.id}/disable`, { reason: reason.value.trim() });
        await renderBank();
        say(`Disabled entry #${e.id}: it no longer matches, and re-imports do not bring it back`);
      } catch (err) { say(/** @type {Error} */ (err).message); }
    });
    act.append(reason, disable);
    tr.append(act);
    rows.append(tr);
  }
  /** @type {{overrides: Override[]}} */
  const overrides = await api('GET', `/v1/overrides?bank=${encodeURIComponent(name)}`);
  if (stale()) return;
  const overrideRows = $('override-rows');
  overrideRows.replaceChildren();
  for (const o of overrides.overrides) {
    const tr = el('tr');
    tr.dataset.overrideId = String(o.id);
    for (const t of [`#${o.id}`, o.signal_type, o.value.length > 20 ? `${o.value.slice(0, 20)}…` : o.value, o.reason,
                     o.created_by, new Date(o.created_at).toLocaleString()]) tr.append(el('td', t));
    const act = el('td');
    addActions(act, 'override', o.id, [['Enable again', async () => { await api('DELETE', `/v1/overrides/${o.id}`); }]], renderBank);
    tr.append(act);
    overrideRows.append(tr);
  }
  /** @type {{imports: ImportRecord[]}} */
  const imports = await api('GET', `${path}/imports`);
  if (stale()) return;
  const importRows = $('import-rows');
  importRows.replaceChildren();
  for (const r of imports.imports) {
    const tr = el('tr');
    for (const t of [`#${r.id}`, r.format, r.source, r.actor, r.status, String(r.added), String(r.removed),
                     new Date(r.started_at).toLocaleString()]) tr.append(el('td', t));
    importRows.append(tr);
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
                               { headers: authHeaders() });
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

/** Without a key: a session from the identity provider, if the browser holds one; else the sign-in view. */
async function findSession() {
  const failed = new URLSearchParams(location.hash.slice(1)).get('sso-error');
  if (failed) { say(`Sign-in failed: ${failed}`); history.replaceState(null, '', location.pathname); }
  try {
    const response = await fetch('/v1/me');
    if (response.ok) {
      /** @type {{kind: string, name: string, display_name?: string, csrf_token?: string}} */
      const me = await response.json();
      if (me.kind === 'session') {
        state.session = true;
        state.csrf = me.csrf_token || '';
        $('whoami').textContent = me.display_name ? `${me.display_name} (${me.name})` : me.name;
        return true;
      }
    }
  } catch { /* not signed in */ }
  try {
    const sso = await (await fetch('/v1/sso')).json();
    $('sso').hidden = !sso.enabled;
    if (sso.enabled) {
      $('sso-login').textContent = `Sign in with ${sso.provider}`;
      $('sso-login').setAttribute('href', `/v1/sso/login?return_to=${encodeURIComponent(location.pathname)}`);
    }
  } catch { /* no single sign-on */ }
  return false;
}

async function start() {
  state.wellness = null;
  updateExposure();
  if (!state.key && !(await findSession())) { show('login'); return; }
  try {
    const wellness = await refreshWellness();
    // A reviewer back during a break: the break it is.
    if (wellness && wellness.on_break) void takeBreak(false);
    await loadQueue();
  } catch (e) {
    // Legal staff may not see the queue: their view is the reports; bank admins', the banks.
    if (/** @type {{status?: number}} */ (e).status === 403) {
      try { await loadReports(); return; } catch { /* the next view */ }
      try { await loadBanks(); return; } catch { /* fall through to sign-in */ }
    }
    say(/** @type {Error} */ (e).message);
    show('login');
  }
}

/** A view loader that reports its error in the status line. @param {() => Promise<void>} load */
const go = (load) => () => { load().catch((e) => say(e.message)); };

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  state.key = /** @type {HTMLInputElement} */ ($('key')).value.trim();
  sessionStorage.setItem('vigil-key', state.key);
  await start();
});
$('logout').addEventListener('click', async () => {
  coverRevealed();
  window.clearInterval(state.breakTimer);
  $('break').hidden = true;
  if (state.session) {
    try { await api('POST', '/v1/sso/logout'); } catch (e) { say(/** @type {Error} */ (e).message); }
    state.session = false;
    state.csrf = '';
    $('whoami').textContent = '';
  }
  sessionStorage.clear();
  state.key = '';
  start();
});
$('nav-queue').addEventListener('click', go(loadQueue));
$('nav-appeals').addEventListener('click', go(loadAppeals));
$('nav-history').addEventListener('click', go(loadHistory));
$('nav-reports').addEventListener('click', go(loadReports));
$('nav-exchanges').addEventListener('click', go(loadExchanges));
$('nav-banks').addEventListener('click', go(loadBanks));
$('nav-wellness').addEventListener('click', go(loadWellness));
$('manager-limit-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const reviewer = /** @type {HTMLInputElement} */ ($('manager-reviewer')).value.trim();
  const value = /** @type {HTMLInputElement} */ ($('manager-limit')).value.trim();
  try {
    /** @type {Wellness} */
    const set = await api('PUT', `/v1/reviewers/${encodeURIComponent(reviewer)}/wellness`, { reveal_limit: value ? Number(value) : null });
    say(`${set.reviewer}'s reveal limit is ${set.reveal_limit}`);
  } catch (err) { say(/** @type {Error} */ (err).message); }
});
$('transparency-load').addEventListener('click', go(loadTransparency));
$('claim').addEventListener('click', claim);
$('decision-form').addEventListener('submit', (e) => decide(/** @type {SubmitEvent} */ (e)));
$('appeal-claim').addEventListener('click', claimAppeal);
$('appeal-form').addEventListener('submit', (e) => decideAppeal(/** @type {SubmitEvent} */ (e)));
$('history-form').addEventListener('submit', (e) => { e.preventDefault(); go(loadHistory)(); });
$('entry-search').addEventListener('submit', (e) => { e.preventDefault(); go(renderBank)(); });
$('limit-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const value = /** @type {HTMLInputElement} */ ($('own-limit')).value.trim();
  try {
    state.wellness = await api('PUT', '/v1/me/wellness', { reveal_limit: value ? Number(value) : null });
    updateExposure();
    say(value ? `Your reveal limit is ${value}` : 'You have no limit of your own: the one set for you applies');
  } catch (err) { say(/** @type {Error} */ (err).message); }
});
$('take-break').addEventListener('click', () => { void takeBreak(true); });
$('break-done').addEventListener('click', async () => {
  await refreshWellness();
  if (state.wellness && state.wellness.on_break) return;
  window.clearInterval(state.breakTimer);
  $('break').hidden = true;
});
document.addEventListener('keydown', onKey);
start();
