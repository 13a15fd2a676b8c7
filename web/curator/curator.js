// The Backline curator page. No framework and no build step; runs under the strict policy
// the server sends (default-src 'self'): no inline script, and data only ever reaches the
// page through textContent and DOM calls, never as HTML.
'use strict';
(() => {
  const API = '/curator/api/';
  const $ = (id) => document.getElementById(id);
  let entries = [];   // [{id, topic, question, questions}] from /topics
  let topics = [];    // [{topic, entries}]
  let wasSignedIn = false;   // signed in on this page (a later 401 means the session ended)

  // ---- helpers --------------------------------------------------------------------------
  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
      if (k === 'class') node.className = v;
      else if (k === 'text') node.textContent = v;
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v);
    }
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function say(text) { $('status').textContent = text; }
  function when(ms) { return ms ? new Date(ms).toLocaleString() : '—'; }

  class ApiError extends Error {
    constructor(status, body) {
      super(body && body.message ? body.message : `HTTP ${status}`);
      this.status = status;
      this.body = body || {};
    }
  }

  async function api(method, path, body) {
    const init = { method, credentials: 'same-origin', headers: {} };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const res = await fetch(API + path, init);
    let data = null;
    try { data = await res.json(); } catch { data = null; }
    if (!res.ok) {
      // Only a session that existed has ended: the server says session_expired for a cookie it
      // no longer knows; not_signed_in (no cookie, a first visit) just asks to sign in.
      if (res.status === 401 && path !== 'login') {
        const ended = (data && data.error === 'session_expired') || wasSignedIn;
        showLogin(ended ? 'Your session has ended; sign in again.' : '');
      }
      throw new ApiError(res.status, data);
    }
    return data;
  }

  // Diagnostics ({severity, text}) or the message, as list items.
  function showErrors(list, err) {
    clear(list);
    if (!err) return;
    const diags = (err.body && err.body.diagnostics) || [];
    list.append(el('li', { text: err.message }));
    for (const d of diags) list.append(el('li', { class: d.severity, text: d.text || d.message }));
    list.focus?.();
  }

  // ---- signing in -----------------------------------------------------------------------
  function showLogin(message) {
    $('app').hidden = true;
    $('who').hidden = true;
    $('login').hidden = false;
    $('login-error').textContent = message || '';
    $('token').focus();
  }

  async function signedIn(me) {
    wasSignedIn = true;
    $('login').hidden = true;
    $('app').hidden = false;
    $('who').hidden = false;
    $('who-name').textContent = `Signed in as ${me.name}`;
    await Promise.all([loadStatus(), loadTopics(), loadUnanswered(), loadRevisions()]);
  }

  $('login-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    $('login-error').textContent = '';
    try {
      const me = await api('POST', 'login', { token: $('token').value });
      $('token').value = '';
      await signedIn(me);
      say(`Welcome, ${me.name}.`);
      $('try-text').focus();
    } catch (err) {
      $('login-error').textContent = err.message;
    }
  });

  $('logout').addEventListener('click', async () => {
    try { await api('POST', 'logout', {}); } catch { /* signed out anyway */ }
    wasSignedIn = false;
    showLogin('You are signed out.');
  });

  // ---- content status and reload ----------------------------------------------------------
  function showStatus(content) {
    if (!content) return;
    $('version').hidden = false;
    $('version-hash').textContent = content.version.slice(0, 12);
    $('version-hash').title = content.version;
    $('version-entries').textContent = String(content.entries);
    $('version-when').textContent = when(content.loaded_ms);
  }
  async function loadStatus() {
    const s = await api('GET', 'status');
    showStatus(s.content);
  }
  $('reload').addEventListener('click', async () => {
    say('Reloading…');
    try {
      const r = await api('POST', 'reload', {});
      showStatus(r.content);
      await loadTopics();
      say('Content reloaded.');
    } catch (err) {
      say(`Reload refused: ${err.message}`);
    }
  });

  // After any applied edit: show what is live and refresh the lists.
  async function published(result, what) {
    showStatus(result.content);
    say(`${what} Revision ${result.revision} is live.`);
    await Promise.all([loadTopics(), loadUnanswered(), loadRevisions()]);
  }

  // ---- try a message ------------------------------------------------------------------------
  function fact(dl, name, value) {
    dl.append(el('dt', { text: name }), el('dd', { text: value === '' || value === undefined ? '—' : String(value) }));
  }
  $('try-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const r = await api('POST', 'try', { text: $('try-text').value, clinic: $('try-clinic').value });
      showTry(r);
    } catch (err) {
      say(`Could not try it: ${err.message}`);
    }
  });
  function showTry(r) {
    $('try-result').hidden = false;
    const facts = $('try-facts');
    clear(facts);
    fact(facts, 'Kind', r.reply.kind);
    fact(facts, 'Topic', r.reply.topic);
    fact(facts, 'Urgency', r.reply.urgency);
    fact(facts, 'Entry', r.reply.entry || '');
    fact(facts, 'State after', r.state);
    $('try-reply').textContent = r.reply.text;
    const x = r.explain || {};
    const dl = $('try-explain');
    clear(dl);
    fact(dl, 'Normalised', x.canonical || x.folded || '');
    fact(dl, 'Spelling repairs', (x.spelling || []).map((p) => `${p.from} → ${p.to}`).join(', '));
    fact(dl, 'Synonyms', (x.synonyms || []).map((p) => `${p.from} → ${p.to}`).join(', '));
    fact(dl, 'Terms', (x.terms || []).join(' '));
    fact(dl, 'State', `${x.state_before || ''} → ${x.state_after || ''}`);
    fact(dl, 'Decision', x.decision || '');
    const flags = $('try-flags').tBodies[0];
    clear(flags);
    for (const f of x.red_flags || []) {
      flags.append(el('tr', {}, el('td', { text: f.rule }), el('td', { text: `${f.kind} (${f.urgency})` }),
        el('td', { text: f.matched }),
        el('td', { text: f.affirmed ? 'escalates' : `cancelled: ${f.cancelled_by || ''}` })));
    }
    $('try-flags-none').hidden = (x.red_flags || []).length > 0;
    $('try-flags').hidden = (x.red_flags || []).length === 0;
    const cands = $('try-candidates').tBodies[0];
    clear(cands);
    for (const c of (x.candidates || []).slice(0, 5)) {
      cands.append(el('tr', {}, el('td', {}, el('a', { href: '#entries', text: c.entry, onclick: () => openEntry(c.entry) })),
        el('td', { text: String(c.score) }), el('td', { text: String(c.coverage) })));
    }
  }

  // ---- entries by topic ---------------------------------------------------------------------
  async function loadTopics() {
    const t = await api('GET', 'topics');
    topics = t.topics;
    entries = topics.flatMap((x) => x.entries);
    const sel = $('topic');
    const current = sel.value;
    clear(sel);
    const newTopic = $('new-topic');
    const newCurrent = newTopic.value;
    clear(newTopic);
    for (const x of topics) {
      sel.append(el('option', { value: x.topic, text: `${x.topic} (${x.entries.length})` }));
      newTopic.append(el('option', { value: x.topic, text: x.topic }));
    }
    if (current) sel.value = current;
    if (newCurrent) newTopic.value = newCurrent;
    const clinics = $('try-clinic');
    if (!clinics.options.length) {
      for (const c of t.clinics) clinics.append(el('option', { value: c, text: c }));
      clinics.value = t.clinics.includes('default') ? 'default' : t.clinics[0];
    }
    showTopic();
  }
  function showTopic() {
    const list = $('entry-list');
    clear(list);
    const topic = topics.find((x) => x.topic === $('topic').value);
    for (const e of topic ? topic.entries : []) {
      list.append(el('li', {}, el('button', { type: 'button', class: 'link', onclick: () => openEntry(e.id) },
        el('strong', { text: e.id }), el('span', { class: 'muted', text: ` — ${e.question} (${e.questions})` }))));
    }
  }
  $('topic').addEventListener('change', showTopic);

  let editing = null;
  function questionRow(text) {
    const input = el('input', { type: 'text', 'aria-label': 'Paraphrase' });
    input.value = text;
    const row = el('li', {}, input,
      el('button', { type: 'button', class: 'btn small', text: 'Remove', 'aria-label': `Remove paraphrase: ${text}`,
        onclick: () => { row.remove(); } }));
    return row;
  }
  async function openEntry(id) {
    try {
      const e = await api('GET', `entries/${encodeURIComponent(id)}`);
      editing = e;
      $('topic').value = e.topic;
      showTopic();
      $('editor').hidden = false;
      $('editor-title').textContent = e.id;
      $('editor-where').textContent = `${e.topic} · reviewed ${e.reviewed || '—'} · ${e.file.split('/').slice(-2).join('/')}`;
      const qs = $('editor-questions');
      clear(qs);
      for (const q of e.questions) qs.append(questionRow(q));
      $('editor-answer').value = e.answer;
      clear($('editor-errors'));
      $('entries').scrollIntoView();
      $('editor-title').tabIndex = -1;
      $('editor-title').focus();
    } catch (err) {
      say(`Could not open ${id}: ${err.message}`);
    }
  }
  $('editor-add').addEventListener('click', () => {
    const row = questionRow('');
    $('editor-questions').append(row);
    row.querySelector('input').focus();
  });
  $('editor').addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!editing) return;
    const questions = [...$('editor-questions').querySelectorAll('input')].map((i) => i.value.trim()).filter(Boolean);
    try {
      const r = await api('PUT', `entries/${encodeURIComponent(editing.id)}`, { questions, answer: $('editor-answer').value });
      clear($('editor-errors'));
      await published(r, `Saved ${editing.id}.`);
    } catch (err) {
      showErrors($('editor-errors'), err);
    }
  });

  // ---- unanswered ---------------------------------------------------------------------------
  function entryPicker(onPick) {
    const id = `pick-${Math.random().toString(36).slice(2)}`;
    const filter = el('input', { type: 'search', id: `${id}-f`, placeholder: 'Search entries' });
    const select = el('select', { id, size: '6' });
    const fill = () => {
      const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
      clear(select);
      for (const e of entries) {
        const hay = `${e.id} ${e.topic} ${e.question}`.toLowerCase();
        if (words.every((w) => hay.includes(w))) {
          select.append(el('option', { value: e.id, text: `${e.id} — ${e.question}` }));
        }
      }
      if (select.options.length) select.selectedIndex = 0;
    };
    filter.addEventListener('input', fill);
    fill();
    const errors = el('ul', { class: 'errors', role: 'alert' });
    const button = el('button', { type: 'button', class: 'btn primary', text: 'Attach', onclick: () => onPick(select.value, errors) });
    return el('div', { class: 'picker' },
      el('label', { for: `${id}-f`, text: 'Find the entry' }), filter,
      el('label', { for: id, text: 'Entry' }), select, button, errors);
  }

  async function loadUnanswered() {
    const u = await api('GET', 'unanswered?days=30&limit=100');
    const list = $('unanswered-list');
    clear(list);
    $('unanswered-count').textContent = u.groups.length ? String(u.groups.length) : '';
    $('unanswered-empty').hidden = u.groups.length > 0;
    for (const g of u.groups) {
      const slot = el('div', { class: 'slot' });
      const item = el('li', { class: 'group' },
        el('p', {}, el('span', { class: 'count', text: `${g.count}×` }), ' ', el('q', { class: 'example', text: g.example })),
        el('p', { class: 'muted', text: `last asked ${when(g.last_ms)}` }));
      if (g.variants.length > 1) {
        const ul = el('ul', {});
        for (const v of g.variants) ul.append(el('li', { text: v }));
        item.append(el('details', {}, el('summary', { text: `${g.variants.length} ways it was asked` }), ul));
      }
      const attach = el('button', { type: 'button', class: 'btn', text: 'Attach to entry…' });
      attach.addEventListener('click', () => {
        clear(slot);
        slot.append(entryPicker(async (entryId, errors) => {
          if (!entryId) return;
          try {
            const r = await api('POST', `entries/${encodeURIComponent(entryId)}/paraphrases`, { text: g.example });
            await published(r, `Attached to ${entryId}.`);
          } catch (err) {
            showErrors(errors, err);
          }
        }));
        slot.querySelector('input').focus();
      });
      const start = el('button', { type: 'button', class: 'btn', text: 'New entry', onclick: () => {
        $('new-questions').value = g.variants.join('\n') || g.example;
        $('new-entry').scrollIntoView();
        $('new-topic').focus();
      } });
      item.append(el('div', { class: 'actions' }, attach, start), slot);
      list.append(item);
    }
  }
  $('unanswered-refresh').addEventListener('click', () => loadUnanswered().catch((e) => say(e.message)));

  // ---- new entry ----------------------------------------------------------------------------
  $('new-reviewed').value = new Date().toISOString().slice(0, 10);
  $('new-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = {
      topic: $('new-topic').value,
      id: $('new-id').value.trim(),
      questions: $('new-questions').value.split('\n').map((s) => s.trim()).filter(Boolean),
      keywords: $('new-keywords').value.split(',').map((s) => s.trim()).filter(Boolean),
      answer: $('new-answer').value,
      sources: [{ title: $('new-source-title').value.trim(), url: $('new-source-url').value.trim() }],
      reviewed_on: $('new-reviewed').value,
    };
    try {
      const r = await api('POST', 'entries', body);
      clear($('new-errors'));
      $('new-form').reset();
      $('new-reviewed').value = new Date().toISOString().slice(0, 10);
      await published(r, `Created ${body.id}.`);
    } catch (err) {
      showErrors($('new-errors'), err);
    }
  });

  // ---- revisions ----------------------------------------------------------------------------
  async function loadRevisions() {
    const r = await api('GET', 'revisions?limit=30');
    const list = $('revision-list');
    clear(list);
    for (const v of r.revisions) {
      const item = el('li', { class: v.undone ? 'undone' : '' },
        el('p', {}, el('strong', { text: `#${v.id} ${v.summary}` }),
          el('span', { class: 'muted', text: ` — ${v.who}, ${when(v.at_ms)}${v.undone ? ' (undone)' : ''}` })),
        el('p', { class: 'muted', text: v.file }));
      const diff = el('ul', { class: 'diff' });
      for (const a of v.diff.added) diff.append(el('li', { class: 'add', text: `+ ${a}` }));
      for (const d of v.diff.removed) diff.append(el('li', { class: 'del', text: `− ${d}` }));
      if (diff.childNodes.length) item.append(el('details', {}, el('summary', { text: 'What changed' }), diff));
      list.append(item);
    }
  }
  $('undo').addEventListener('click', async () => {
    try {
      const r = await api('POST', 'undo', {});
      clear($('undo-errors'));
      await published(r, 'Undone.');
    } catch (err) {
      showErrors($('undo-errors'), err);
    }
  });

  // ---- start --------------------------------------------------------------------------------
  (async () => {
    try {
      const me = await api('GET', 'me');
      await signedIn(me);
    } catch (err) {
      if (err.status === 404 && err.body.error === 'curators_off') {
        $('off').hidden = false;
      } else if (err.status !== 401) {
        showLogin(err.message);
      }
    }
  })();
})();
