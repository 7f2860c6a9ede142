// The idgate console: a thin page over the /admin/v1 JSON API. Every value
// from the server is written with textContent, never as HTML.
'use strict';

const state = {
  token: '', account: '', scope: null, usersNext: null, auditNext: null, operator: false,
  // Display prefixes of SCIM keys and admin tokens by id, to name audit actors.
  prefixes: new Map(),
};

const $ = (id) => document.getElementById(id);

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${state.token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`/admin/v1${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await res.json(); } catch { data = null; }
  if (!res.ok) {
    throw new ApiError(res.status, (data && data.error) || `request failed with status ${res.status}`);
  }
  return data;
}

const accountPath = (suffix = '') => `/accounts/${encodeURIComponent(state.account)}${suffix}`;

// Runs `fn`, showing its error (or clearing the old one) in element `errorId`.
async function guarded(errorId, fn) {
  const box = $(errorId);
  box.textContent = '';
  try {
    await fn();
  } catch (err) {
    box.textContent = err.message;
    // A token that stops working while in use (revoked) ends the session.
    if (err.status === 401 && errorId !== 'signin-error') {
      signOut('Your admin token is no longer valid. Sign in again.');
    }
  }
}

const TIER_LABELS = { pro: 'Pro', basic: 'Basic', none: 'None (may not sign in)' };

// Formats an RFC 3339 time from the server as "2026-01-31 12:00:05" (UTC),
// leaving anything else as it is.
function formatTime(value) {
  if (!value) return '';
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(value);
  return m ? `${m[1]} ${m[2]}` : String(value);
}

function timeCell(row, value, fallback) {
  const td = cell(row, '', 'time');
  if (!value) {
    td.textContent = fallback || '';
    return td;
  }
  const t = document.createElement('time');
  t.dateTime = value;
  t.title = value;
  t.textContent = formatTime(value);
  td.appendChild(t);
  return td;
}

// Shows `message` in a single row spanning the table when `rows` is empty.
function emptyRow(rows, columns, message) {
  if (rows.children.length) return;
  const tr = document.createElement('tr');
  const td = cell(tr, message, 'empty');
  td.colSpan = columns;
  rows.appendChild(tr);
}

function cell(row, text, className) {
  const td = document.createElement('td');
  td.textContent = text === undefined || text === null ? '' : String(text);
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function button(label, onClick, ariaLabel, className) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  if (ariaLabel) b.setAttribute('aria-label', ariaLabel);
  if (className) b.className = className;
  b.addEventListener('click', async () => {
    b.disabled = true;
    try {
      await onClick();
    } finally {
      b.disabled = false;
    }
  });
  return b;
}

// A button for an action that cannot be undone, asking first.
function dangerButton(label, question, onClick, ariaLabel) {
  return button(label, async () => {
    if (window.confirm(question)) await onClick();
  }, ariaLabel, 'danger');
}

function formValues(form) {
  return Object.fromEntries(new FormData(form).entries());
}

// Sign-in and account choice.

function signOut(message) {
  state.token = '';
  state.account = '';
  state.operator = false;
  sessionStorage.removeItem('idgate-admin-token');
  $('workspace').hidden = true;
  $('accounts').hidden = true;
  $('signin').hidden = false;
  $('signout').hidden = true;
  $('whoami').hidden = true;
  $('sections').hidden = true;
  $('signin-error').textContent = message || '';
  $('token').value = '';
  $('token').focus();
}

async function signIn(token) {
  state.token = token;
  let accounts;
  try {
    accounts = await api('GET', '/accounts');
  } catch (err) {
    state.token = '';
    sessionStorage.removeItem('idgate-admin-token');
    throw err;
  }
  sessionStorage.setItem('idgate-admin-token', token);
  $('signin').hidden = true;
  $('accounts').hidden = false;
  $('signout').hidden = false;
  fillAccounts(accounts);
  // Only operator tokens may create accounts.
  const me = await api('GET', '/whoami');
  state.operator = me.operator;
  $('account-create').hidden = !me.operator;
  // Only operator tokens may take an issuer over from another account.
  for (const el of document.querySelectorAll('.operator-only')) el.hidden = !me.operator;
  $('token').value = '';
  if (accounts.length === 1) {
    await openAccount(accounts[0].id);
  } else if (!accounts.length && me.operator) {
    $('account-name').focus();
  } else {
    $('account').focus();
  }
}

function fillAccounts(accounts) {
  const select = $('account');
  select.replaceChildren();
  for (const acc of accounts) {
    const opt = document.createElement('option');
    opt.value = acc.id;
    opt.textContent = `${acc.name} (${acc.id})`;
    select.appendChild(opt);
  }
}

async function openAccount(id) {
  state.account = id;
  $('account').value = id;
  const acc = await api('GET', accountPath());
  $('whoami').textContent = `Account: ${acc.name}`;
  $('whoami').hidden = false;
  $('workspace').hidden = false;
  $('sections').hidden = false;
  $('default-tier').value = acc.settings.default_tier;
  forgetShownKey();
  $('idp-form').reset();
  state.prefixes.clear();
  await Promise.all([
    loadDomains(), loadIdp(), loadKeys(), loadGroups(), loadCounts(), loadUsers(true),
    loadTokenPrefixes(),
  ]);
  await loadAudit(true);
  $('domains-title').focus();
}

// Names admin tokens in the audit log by their prefix. A token that may not
// list tokens, or a failed request, leaves the ids as they are.
async function loadTokenPrefixes() {
  try {
    for (const t of await api('GET', '/tokens')) state.prefixes.set(`admin:${t.id}`, `admin token ${t.prefix}`);
  } catch {
    // The audit log then shows token ids.
  }
}

// Domains.

async function loadDomains() {
  await guarded('domains-error', async () => {
    const domains = await api('GET', accountPath('/domains'));
    const rows = $('domain-rows');
    rows.replaceChildren();
    for (const d of domains) {
      const tr = document.createElement('tr');
      cell(tr, d.domain, 'nowrap');
      cell(tr, d.verified ? 'Verified' : 'Not verified',
        d.verified ? 'nowrap status-verified' : 'nowrap status-pending');
      cell(tr, d.record.name, 'code');
      cell(tr, d.record.value, 'code');
      const actions = cell(tr, '', 'actions');
      if (!d.verified) {
        actions.appendChild(button('Verify', () => verifyDomain(d.domain), `Verify ${d.domain}`));
      }
      actions.appendChild(dangerButton('Remove',
        `Remove ${d.domain}? ${d.verified ? 'Users outside the remaining verified domains can no longer be provisioned or sign in. ' : ''}A new claim needs a new TXT record.`,
        () => removeDomain(d.domain), `Remove ${d.domain}`));
      rows.appendChild(tr);
    }
    emptyRow(rows, 5, 'No domain claimed yet.');
  });
}

async function verifyDomain(domain) {
  await guarded('domains-error', async () => {
    await api('POST', accountPath(`/domains/${encodeURIComponent(domain)}/verify`));
    await loadDomains();
    await loadAudit(true);
  });
}

async function removeDomain(domain) {
  await guarded('domains-error', async () => {
    await api('DELETE', accountPath(`/domains/${encodeURIComponent(domain)}`));
    await loadDomains();
  });
}

// Incoming keys.

async function loadIdp() {
  await guarded('idp-error', async () => {
    let idp = null;
    try {
      idp = await api('GET', accountPath('/idp'));
    } catch (err) {
      if (err.status !== 404) throw err;
    }
    // The stored secret is kept when the field is left empty, so it is
    // required only for the first save.
    const stored = Boolean(idp && idp.issuer);
    $('idp-client-secret').required = !stored;
    $('idp-secret-hint').textContent = stored
      ? 'Leave empty to keep the stored secret. A new one is stored encrypted.'
      : 'It is stored encrypted, and only its last four characters are shown.';
    $('idp-delete').hidden = !stored;
    $('idp-redirect-uri').hidden = !stored;
    if (!stored) {
      $('idp-current').textContent = 'No identity provider is set up yet.';
      return;
    }
    $('idp-current').textContent =
      `Current: issuer ${idp.issuer}, client ID ${idp.client_id}, client secret ${idp.client_secret}`;
    // Settings from before per-account redirect URIs keep the shared one until an operator
    // switches them with redirect_uri_mode.
    $('idp-redirect-uri').textContent = idp.redirect_uri_mode === 'shared'
      ? `Sign-in redirect URI to register in the provider's application: ${idp.redirect_uri} (shared by all accounts set up before each got its own)`
      : `Sign-in redirect URI to register in the provider's application: ${idp.redirect_uri}`;
    $('idp-issuer').value = idp.issuer;
    $('idp-client-id').value = idp.client_id;
  });
}

async function saveIdp(form) {
  const body = formValues(form);
  const takeOver = state.operator && $('idp-take-over').checked;
  if (takeOver) {
    if (!window.confirm('Take the issuer over? If another account has it, that account loses its incoming keys, its users are signed out, and they cannot sign in until it sets up another issuer.')) return;
    body.take_over_issuer = true;
  }
  $('idp-status').textContent = '';
  await guarded('idp-error', async () => {
    const saved = await api('PUT', accountPath('/idp'), body);
    $('idp-client-secret').value = '';
    $('idp-take-over').checked = false;
    await loadIdp();
    // The status appears once the section shows the saved settings.
    $('idp-status').textContent = saved.warning ? `Incoming keys saved. ${saved.warning}` : 'Incoming keys saved.';
    if (takeOver) await loadAudit(true);
  });
}

async function deleteIdp() {
  if (!window.confirm('Disconnect the identity provider? Everyone signed in to this account is signed out, and nobody can sign in until incoming keys are saved again.')) return;
  $('idp-status').textContent = '';
  await guarded('idp-error', async () => {
    await api('DELETE', accountPath('/idp'));
    $('idp-form').reset();
    await loadIdp();
    $('idp-status').textContent = 'Identity provider disconnected.';
    await loadAudit(true);
  });
}

// SCIM access keys.

async function loadKeys() {
  await guarded('keys-error', async () => {
    const keys = await api('GET', accountPath('/scim-keys'));
    for (const k of keys) state.prefixes.set(`scim:${k.id}`, `SCIM key ${k.prefix}`);
    const rows = $('key-rows');
    rows.replaceChildren();
    for (const k of keys) {
      const tr = document.createElement('tr');
      cell(tr, k.prefix, 'code');
      timeCell(tr, k.created);
      timeCell(tr, k.last_used, 'Never');
      cell(tr, k.revoked ? 'Revoked' : 'Active', k.revoked ? 'status-revoked' : 'status-active');
      const actions = cell(tr, '', 'actions');
      if (!k.revoked) {
        actions.appendChild(dangerButton('Revoke',
          `Revoke the key ${k.prefix}...? A directory still sending with it gets 401 from now on.`,
          () => revokeKey(k.id), `Revoke key ${k.prefix}`));
      }
      rows.appendChild(tr);
    }
    emptyRow(rows, 5, 'No access key yet.');
    const active = keys.filter((k) => !k.revoked).length;
    $('key-create').disabled = active >= 2;
    $('key-limit').hidden = active < 2;
  });
}

async function createKey() {
  await guarded('keys-error', async () => {
    const key = await api('POST', accountPath('/scim-keys'));
    $('key-token').value = key.token;
    $('key-copied').textContent = '';
    $('key-once').hidden = false;
    $('key-token').focus();
    $('key-token').select();
    await loadKeys();
  });
}

async function revokeKey(id) {
  await guarded('keys-error', async () => {
    await api('DELETE', accountPath(`/scim-keys/${encodeURIComponent(id)}`));
    await loadKeys();
  });
}

function forgetShownKey() {
  const wasShown = !$('key-once').hidden;
  $('key-token').value = '';
  $('key-copied').textContent = '';
  $('key-once').hidden = true;
  if (wasShown && !$('key-create').disabled) $('key-create').focus();
}

// Directory groups.

async function loadGroups() {
  await guarded('groups-error', async () => {
    const groups = await api('GET', accountPath('/groups'));
    const rows = $('group-rows');
    rows.replaceChildren();
    for (const g of groups) {
      const tr = document.createElement('tr');
      const name = g.displayName || `(deleted group ${g.group_id})`;
      cell(tr, name);
      const tierCell = cell(tr, '');
      const select = document.createElement('select');
      select.setAttribute('aria-label', `Tier of ${name}`);
      for (const t of ['basic', 'pro']) {
        const opt = document.createElement('option');
        opt.value = t;
        opt.textContent = t === 'pro' ? 'Pro' : 'Basic';
        select.appendChild(opt);
      }
      select.value = g.tier;
      // The change is saved by its own button, so that arrow keys on the
      // focused list (which change its value in Chromium) move no users.
      const save = button('Save', () => setGroupTier(g.group_id, select.value), `Save tier of ${name}`);
      save.disabled = true;
      select.addEventListener('change', () => { save.disabled = select.value === g.tier; });
      tierCell.className = 'actions';
      tierCell.append(select, ' ', save);
      cell(tr, g.members, 'num');
      cell(tr, '', 'actions').appendChild(dangerButton('Remove',
        `Stop mapping ${name} to a tier? Its members move to the tier of their other groups or the default tier.`,
        () => removeGroup(g.group_id), `Remove ${name}`));
      rows.appendChild(tr);
    }
    emptyRow(rows, 4, 'No directory group mapped yet. Users get the default tier.');
  });
}

async function afterLicenceChange() {
  await Promise.all([loadGroups(), loadCounts(), loadUsers(true), loadAudit(true)]);
}

async function addGroup(form) {
  await guarded('groups-error', async () => {
    await api('POST', accountPath('/groups'), formValues(form));
    $('group-name').value = '';
    await afterLicenceChange();
  });
}

async function setGroupTier(id, tier) {
  await guarded('groups-error', async () => {
    await api('PATCH', accountPath(`/groups/${encodeURIComponent(id)}`), { tier });
    await afterLicenceChange();
  });
}

async function removeGroup(id) {
  await guarded('groups-error', async () => {
    await api('DELETE', accountPath(`/groups/${encodeURIComponent(id)}`));
    await afterLicenceChange();
  });
}

// Licences and users.

async function loadCounts() {
  await guarded('licenses-error', async () => {
    const c = await api('GET', accountPath('/licenses'));
    $('count-pro').textContent = c.pro;
    $('count-basic').textContent = c.basic;
    $('count-none').textContent = c.none;
    $('count-billable').textContent = c.billable;
    $('default-tier').value = c.default_tier;
  });
}

async function saveDefaultTier(form) {
  $('licenses-status').textContent = '';
  await guarded('licenses-error', async () => {
    await api('PATCH', accountPath('/settings'), formValues(form));
    $('licenses-status').textContent = 'Default tier saved.';
    await afterLicenceChange();
  });
}

async function loadUsers(fromStart) {
  await guarded('users-error', async () => {
    const params = new URLSearchParams({ limit: '50' });
    const tier = $('user-tier').value;
    if (tier) params.set('tier', tier);
    if (!fromStart && state.usersNext) params.set('after', state.usersNext);
    const page = await api('GET', accountPath(`/users?${params}`));
    const rows = $('user-rows');
    if (fromStart) rows.replaceChildren();
    for (const u of page.users) {
      const tr = document.createElement('tr');
      cell(tr, u.userName);
      cell(tr, u.displayName);
      cell(tr, u.active ? 'Yes' : 'No');
      // Deactivated users have no tier and are not counted.
      cell(tr, u.active ? (TIER_LABELS[u.tier] || u.tier) : 'Not counted');
      const toggle = button('Links', () => toggleLinks(u, tr, toggle), `Links of ${u.userName}`);
      toggle.setAttribute('aria-expanded', 'false');
      cell(tr, '', 'actions').appendChild(toggle);
      rows.appendChild(tr);
    }
    if (fromStart) emptyRow(rows, 5, tier ? 'No user has this tier.' : 'No user provisioned yet.');
    state.usersNext = page.next;
    $('users-more').hidden = !page.next;
  });
}

// Sign-in links: the provider subjects (issuer and sub) that sign in to a user.

// Shows the links of `user` in a row below its row `userRow`, or hides them
// when they are shown.
async function toggleLinks(user, userRow, toggle) {
  const next = userRow.nextElementSibling;
  if (next && next.dataset.linksOf === user.id) {
    next.remove();
    toggle.setAttribute('aria-expanded', 'false');
    return;
  }
  $('users-status').textContent = '';
  await guarded('users-error', async () => {
    const linksRow = document.createElement('tr');
    linksRow.dataset.linksOf = user.id;
    await fillLinks(linksRow, user);
    userRow.after(linksRow);
    toggle.setAttribute('aria-expanded', 'true');
  });
}

// Fills `linksRow` with the current links of `user` and, when it has any,
// an Unlink button.
async function fillLinks(linksRow, user) {
  const reply = await api('GET', accountPath(`/users/${encodeURIComponent(user.id)}/links`));
  const td = document.createElement('td');
  td.colSpan = 5;
  td.className = 'links';
  linksRow.replaceChildren(td);

  if (!reply.links.length) {
    const p = document.createElement('p');
    p.className = 'empty';
    p.textContent = `${user.userName} has no sign-in link. A sign-in that matches by externalId or verified email creates one.`;
    td.appendChild(p);
    return;
  }

  const count = reply.links.length === 1 ? 'its sign-in link' : `its ${reply.links.length} sign-in links`;
  const unlink = dangerButton('Unlink',
    `Unlink ${user.userName} from ${count}? The user's sessions end now, and the next sign-in that matches by externalId or verified email links the user again.`,
    () => unlinkUser(linksRow, user), `Unlink ${user.userName}`);
  td.append(linksTable(user, reply.links), unlink);
}

function linksTable(user, links) {
  const table = document.createElement('table');
  const caption = document.createElement('caption');
  caption.textContent = `Sign-in links of ${user.userName}`;

  const head = document.createElement('thead');
  const headRow = document.createElement('tr');
  for (const title of ['Issuer', 'Subject (sub)', 'Linked (UTC)']) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = title;
    headRow.appendChild(th);
  }
  head.appendChild(headRow);

  const body = document.createElement('tbody');
  for (const link of links) {
    const tr = document.createElement('tr');
    cell(tr, link.issuer, 'code');
    cell(tr, link.sub, 'code');
    // Links stored without a creation time are listed with created null.
    timeCell(tr, link.created, 'Unknown');
    body.appendChild(tr);
  }
  table.append(caption, head, body);
  return table;
}

async function unlinkUser(linksRow, user) {
  $('users-status').textContent = '';
  await guarded('users-error', async () => {
    const reply = await api('DELETE', accountPath(`/users/${encodeURIComponent(user.id)}/links`));
    await fillLinks(linksRow, user);
    const removed = reply.removed.length === 1 ? '1 link' : `${reply.removed.length} links`;
    $('users-status').textContent = `Unlinked ${user.userName}: removed ${removed} and ended the user's sessions.`;
    await loadAudit(true);
  });
}

// Audit log.

function describeValue(value) {
  if (value === null || value === undefined) return '(none)';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function describe(details) {
  return Object.entries(details || {}).map(([k, v]) => `${k}: ${describeValue(v)}`).join(', ');
}

async function loadAudit(fromStart) {
  await guarded('audit-error', async () => {
    const params = new URLSearchParams({ limit: '100' });
    const kind = $('audit-kind').value.trim();
    const since = $('audit-since').value;
    if (kind) params.set('kind', kind);
    if (since) params.set('since', since);
    if (!fromStart && state.auditNext) params.set('after', state.auditNext);
    const page = await api('GET', accountPath(`/audit?${params}`));
    const rows = $('audit-rows');
    if (fromStart) rows.replaceChildren();
    for (const e of page.events) {
      const tr = document.createElement('tr');
      timeCell(tr, e.time);
      cell(tr, e.kind, 'nowrap');
      const named = state.prefixes.get(e.actor);
      const actor = cell(tr, named || e.actor, named ? 'nowrap' : 'code');
      actor.title = e.actor;
      cell(tr, describe(e.details), 'details');
      rows.appendChild(tr);
    }
    if (fromStart) emptyRow(rows, 4, 'No event matches.');
    state.auditNext = page.next;
    $('audit-more').hidden = !page.next;
  });
}

// Wiring.

// Runs `fn` on submit, with the form's buttons disabled until it finishes,
// so that a double click sends one request.
function onSubmit(id, fn) {
  $(id).addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = ev.target;
    const buttons = [...form.querySelectorAll('button')];
    form.setAttribute('aria-busy', 'true');
    for (const b of buttons) b.disabled = true;
    try {
      await fn(form);
    } finally {
      for (const b of buttons) b.disabled = false;
      form.removeAttribute('aria-busy');
    }
  });
}

document.addEventListener('DOMContentLoaded', () => {
  onSubmit('signin-form', () => guarded('signin-error', () => signIn($('token').value.trim())));
  onSubmit('account-pick', () => guarded('accounts-error', () => openAccount($('account').value)));
  onSubmit('account-create', (form) => guarded('accounts-error', async () => {
    const acc = await api('POST', '/accounts', formValues(form));
    fillAccounts(await api('GET', '/accounts'));
    $('account-name').value = '';
    await openAccount(acc.id);
  }));
  onSubmit('domain-add', (form) => guarded('domains-error', async () => {
    await api('POST', accountPath('/domains'), formValues(form));
    $('domain-name').value = '';
    await loadDomains();
  }));
  onSubmit('idp-form', saveIdp);
  onSubmit('group-add', addGroup);
  onSubmit('default-tier-form', saveDefaultTier);
  onSubmit('user-filter', () => loadUsers(true));
  onSubmit('audit-filter', () => loadAudit(true));
  $('key-create').addEventListener('click', createKey);
  $('idp-delete').addEventListener('click', deleteIdp);
  $('key-copy').addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText($('key-token').value);
      $('key-copied').textContent = 'Copied.';
    } catch {
      $('key-token').select();
      $('key-copied').textContent = 'Press Ctrl+C (or Cmd+C) to copy the selected key.';
    }
  });
  $('key-done').addEventListener('click', forgetShownKey);
  $('users-more').addEventListener('click', () => loadUsers(false));
  $('users-refresh').addEventListener('click', () => Promise.all([loadUsers(true), loadCounts(), loadGroups()]));
  $('audit-more').addEventListener('click', () => loadAudit(false));
  $('signout').addEventListener('click', () => signOut(''));

  const saved = sessionStorage.getItem('idgate-admin-token');
  if (saved) guarded('signin-error', () => signIn(saved));
});
