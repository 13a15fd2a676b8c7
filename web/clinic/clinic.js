// The Backline clinicians' page. No framework and no build step; runs under the strict policy
// the server sends (default-src 'self'): no inline script or style, and data only ever reaches
// the page through textContent and DOM calls, never as HTML.
'use strict';
(() => {
  const API = '/clinic/api/';
  const TITLE = 'Backline clinic';
  const $ = (id) => document.getElementById(id);
  const STATUS_WORDS = {
    new: 'New', acknowledged: 'Acknowledged', called_back: 'Called back', closed: 'Closed',
  };
  // The buttons, in the order a case goes.
  const ACTIONS = [['acknowledged', 'Acknowledge'], ['called_back', 'Called back'], ['closed', 'Close']];
  let me = null;            // {name, clinic, clinic_name, role}
  let events = null;        // the EventSource
  let shown = new Set();    // ids of the items the page has shown (to tell which are new)
  let fresh = new Set();    // ids that arrived while the page was open, not yet acted on
  const expanded = new Set();  // ids whose conversation is open (kept open across refreshes)
  let wasSignedIn = false;

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
  function when(ms) { return ms ? new Date(ms).toLocaleString() : '—'; }
  // Announcements: a screen reader reads a live region when its text changes, so the text is
  // cleared first and set a moment later (the same message twice is read twice).
  function announce(region, text) {
    region.textContent = '';
    setTimeout(() => { region.textContent = text; }, 50);
  }
  const say = (text) => announce($('status'), text);

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
      if (res.status === 401 && path !== 'login') {
        const ended = (data && data.error === 'session_expired') || wasSignedIn;
        showLogin(ended ? 'Your session has ended; sign in again.' : '');
      }
      throw new ApiError(res.status, data);
    }
    return data;
  }

  function itemTitle(item) {
    if (item.type === 'callback') return `Callback request ${item.reference}`;
    const kind = item.red_flag_kind ? ` ${item.red_flag_kind}` : '';
    return `Escalation${kind} ${item.reference}`;
  }
  function urgencyWord(u) {
    return u === 'emergency' ? 'Emergency' : u === 'urgent' ? 'Urgent' : 'Routine';
  }

  // ---- signing in -----------------------------------------------------------------------
  function showLogin(message) {
    stopEvents();
    me = null;
    $('app').hidden = true;
    $('who').hidden = true;
    $('login').hidden = false;
    $('login-error').textContent = message || '';
    setCount(0);
    $('token').focus();
  }

  function signedIn(who) {
    me = who;
    wasSignedIn = true;
    $('login').hidden = true;
    $('off').hidden = true;
    $('app').hidden = false;
    $('who').hidden = false;
    $('who-name').textContent =
      `${who.name} (${who.role === 'viewer' ? 'viewer: can see, not change' : 'clinician'})`;
    $('clinic-name').textContent = who.clinic_name || who.clinic;
    shown = new Set();
    fresh = new Set();
    startEvents();
    refresh();
  }

  $('login-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    $('login-error').textContent = '';
    try {
      const who = await api('POST', 'login', { token: $('token').value });
      $('token').value = '';
      signedIn(who);
      say(`Signed in as ${who.name}.`);
      $('items-h').setAttribute('tabindex', '-1');
      $('items-h').focus();
    } catch (err) {
      $('login-error').textContent = err.message;
    }
  });

  $('logout').addEventListener('click', async () => {
    try { await api('POST', 'logout', {}); } catch { /* signed out either way */ }
    wasSignedIn = false;
    showLogin('You have signed out.');
  });

  // ---- the list -------------------------------------------------------------------------
  function query() {
    const params = new URLSearchParams({ status: $('filter-status').value });
    // Dates are the clinician's local days: from the start of "from" to the end of "to".
    if ($('filter-from').value) params.set('since', String(new Date(`${$('filter-from').value}T00:00`).getTime()));
    if ($('filter-to').value) {
      const end = new Date(`${$('filter-to').value}T00:00`);
      end.setDate(end.getDate() + 1);
      params.set('until', String(end.getTime()));
    }
    return params.toString();
  }

  function setCount(n) {
    document.title = n > 0 ? `(${n}) ${TITLE}` : TITLE;
    $('badge').hidden = n === 0;
    $('badge').textContent = n > 0 ? `${n} new` : '';
  }

  async function refresh() {
    if (!me) return;
    await Promise.all([loadItems(), loadCount(), loadFailed()]);
  }

  async function loadCount() {
    try {
      const data = await api('GET', 'items?status=new&limit=1000');
      setCount(data.items.length);
    } catch { /* the list says what went wrong */ }
  }

  async function loadFailed() {
    try {
      const data = await api('GET', 'failed');
      const list = $('failed-list');
      clear(list);
      for (const d of data.deliveries) {
        list.append(el('li', {
          text: `${d.type} event of ${when(d.created_ms)} to "${d.endpoint}": given up after ` +
                `${d.attempts} attempt(s)${d.last_error ? ` (last: ${d.last_error})` : ''}.`,
        }));
      }
      $('failed').hidden = data.deliveries.length === 0;
    } catch { /* shown again at the next refresh */ }
  }

  async function loadItems() {
    let data;
    try {
      data = await api('GET', `items?${query()}`);
    } catch (err) {
      if (err.status !== 401) say(`Could not load the list: ${err.message}`);
      return;
    }
    // Keep the keyboard where it was: the item (and button) that had focus is focused again.
    const active = document.activeElement;
    const focusId = active && active.closest('.item') ? active.closest('.item').dataset.id : null;
    const focusAction = active && active.dataset ? active.dataset.action : null;
    const list = $('items');
    clear(list);
    for (const item of data.items) {
      list.append(renderItem(item));
      shown.add(item.id);
    }
    $('empty').hidden = data.items.length > 0;
    if (focusId) {
      const again = list.querySelector(`.item[data-id="${focusId}"]`);
      const target = again && (again.querySelector(`button[data-action="${focusAction}"]:not(:disabled)`) ||
                               again.querySelector('h3'));
      if (target) target.focus();
    }
  }

  function renderItem(item) {
    const li = el('li', { class: `item ${item.urgency}${fresh.has(item.id) ? ' fresh' : ''}` });
    li.dataset.id = String(item.id);
    const headingId = `item-${item.id}-h`;
    li.setAttribute('aria-labelledby', headingId);
    li.append(el('h3', { id: headingId, tabindex: '-1' },
      el('span', { class: `tag ${item.urgency}`, text: urgencyWord(item.urgency) }),
      itemTitle(item),
      fresh.has(item.id) ? el('span', { class: 'tag', text: 'New here' }) : null));
    const facts = el('dl', { class: 'facts' });
    const fact = (k, v) => facts.append(el('dt', { text: k }), el('dd', {}, v));
    fact('Created', when(item.created_ms));
    fact('Type', item.type === 'callback' ? 'Callback request' : 'Red-flag escalation');
    fact('Urgency', urgencyWord(item.urgency));
    if (item.red_flag_kind) fact('Red flag', item.red_flag_kind);
    const status = STATUS_WORDS[item.status] || item.status;
    fact('Status', item.status_by ? `${status} by ${item.status_by}, ${when(item.status_ms)}` : status);
    if (item.type === 'callback') {
      if (item.consent) {
        fact('Name', item.first_name || '—');
        fact('Phone', item.phone ? el('a', { href: `tel:${item.phone}`, text: item.phone }) : '—');
        fact('Best time', item.best_time || '—');
      } else {
        fact('Contact', 'Not shared: the person did not consent.');
      }
    }
    li.append(facts);

    const convId = `item-${item.id}-conversation`;
    if (item.consent) {
      const box = el('div', { id: convId, hidden: '' });
      const toggle = el('button', {
        type: 'button', class: 'btn', 'aria-expanded': 'false', 'aria-controls': convId,
        text: 'Show the conversation',
      });
      toggle.addEventListener('click', () => toggleConversation(item, toggle, box));
      li.append(toggle, box);
      if (expanded.has(item.id)) showConversation(item, toggle, box);
    } else {
      li.append(el('p', { class: 'muted', text: 'The conversation was not shared: the person did not consent.' }));
    }

    const actions = el('div', { class: 'actions', role: 'group', 'aria-label': `Status of ${item.reference}` });
    for (const [value, label] of ACTIONS) {
      const b = el('button', { type: 'button', class: 'btn primary', text: label });
      b.dataset.action = value;
      if (me.role !== 'clinician' || item.status === value) b.disabled = true;
      b.addEventListener('click', () => setStatus(item, value, label));
      actions.append(b);
    }
    li.append(actions);
    if (me.role !== 'clinician') {
      li.append(el('p', { class: 'muted', text: 'Your role can see items but not change their status.' }));
    }
    return li;
  }

  function toggleConversation(item, toggle, box) {
    if (toggle.getAttribute('aria-expanded') === 'true') {
      expanded.delete(item.id);
      box.hidden = true;
      toggle.setAttribute('aria-expanded', 'false');
      toggle.textContent = 'Show the conversation';
      return;
    }
    expanded.add(item.id);
    showConversation(item, toggle, box);
  }

  async function showConversation(item, toggle, box) {
    try {
      const data = await api('GET', `items/${item.id}/conversation`);
      clear(box);
      if (!data.shared) {
        box.append(el('p', { class: 'muted', text: 'The conversation was not shared.' }));
      } else {
        const turns = el('ol', { class: 'turns', 'aria-label': `Conversation of ${item.reference}` });
        for (const t of data.turns) {
          turns.append(el('li', {},
            el('div', { class: 'said' }, el('strong', { text: `They wrote (${when(t.at_ms)}): ` }), t.user_text),
            el('div', { class: 'reply' }, el('strong', { text: 'Backline answered: ' }), t.reply_text)));
        }
        box.append(turns);
      }
      box.hidden = false;
      toggle.setAttribute('aria-expanded', 'true');
      toggle.textContent = 'Hide the conversation';
    } catch (err) {
      say(`Could not load the conversation: ${err.message}`);
    }
  }

  async function setStatus(item, value, label) {
    try {
      const updated = await api('POST', `items/${item.id}/status`, { status: value });
      fresh.delete(item.id);
      say(`${item.reference}: ${STATUS_WORDS[updated.status]}, recorded as ${updated.status_by}.`);
      await refresh();
    } catch (err) {
      if (err.status !== 401) say(`${label} failed for ${item.reference}: ${err.message}`);
    }
  }

  $('filter').addEventListener('submit', (e) => {
    e.preventDefault();
    loadItems();
  });

  // ---- live updates (Server-Sent Events) --------------------------------------------------
  function stopEvents() {
    if (events) events.close();
    events = null;
  }

  function startEvents() {
    stopEvents();
    events = new EventSource(`${API}events`);
    events.addEventListener('ready', () => {
      $('live-state').textContent = 'Live: new items appear here without reloading.';
      refresh();
    });
    events.addEventListener('change', (e) => {
      let data;
      try { data = JSON.parse(e.data); } catch { return; }
      const arrived = (data.new || []).filter((i) => !shown.has(i.id));
      for (const i of arrived) fresh.add(i.id);
      const emergencies = arrived.filter((i) => i.urgency === 'emergency');
      if (emergencies.length) {
        announce($('alert'), `Emergency: ${emergencies.map(itemTitle).join('; ')}.`);
      }
      const others = arrived.filter((i) => i.urgency !== 'emergency');
      if (others.length) {
        say(others.length === 1 ? `New: ${itemTitle(others[0])}.` : `${others.length} new items.`);
      }
      refresh();
    });
    events.addEventListener('signed_out', () => {
      wasSignedIn = false;
      showLogin('Your session has ended; sign in again.');
    });
    events.addEventListener('error', () => {
      if (!events) return;
      $('live-state').textContent = 'Reconnecting: the list may be out of date.';
      // A refused stream (the session ended) closes for good: find out why.
      if (events.readyState === EventSource.CLOSED) {
        api('GET', 'me').then(() => setTimeout(startEvents, 5000)).catch(() => {});
      }
    });
  }

  // ---- start ------------------------------------------------------------------------------
  (async () => {
    try {
      signedIn(await api('GET', 'me'));
    } catch (err) {
      if (err.status === 404 && err.body.error === 'clinicians_off') {
        $('off').hidden = false;
      } else if (err.status !== 401) {
        showLogin(err.message);
      }
    }
  })();
})();
