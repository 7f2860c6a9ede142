// Admin API issuer take-over: an account that names another customer's issuer first keeps
// it from the real owner until an operator moves it with "take_over_issuer": true in
// PUT /admin/v1/accounts/{id}/idp. Account tokens may not use the flag. Discovery checks
// are off, so no request leaves the machine.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { startIdgate } from './lib/idgate.mjs';
import { adminClient, adminToken } from './admin_helpers.mjs';

const ISSUER = 'https://acme.okta.com/oauth2/default';

function settings(extra = {}) {
  return { issuer: ISSUER, client_id: '0oaexample', client_secret: 'secret-1234', ...extra };
}

describe('admin API issuer take-over', () => {
  let srv;
  let op;           // operator client
  let operatorId;   // the operator token's id, as audit actors name it
  let squatter;     // account that claims the issuer first
  let owner;        // account the issuer really belongs to
  let asSquatter;   // client with a token scoped to the squatter
  let asOwner;      // client with a token scoped to the owner

  before(async () => {
    srv = await startIdgate({
      config: { oidc: { check_discovery: false } },
      env: { IDGATE_OIDC_MASTER_KEY: randomBytes(32).toString('hex') },
    });
    op = adminClient(srv, await adminToken(srv));
    operatorId = (await op('GET', '/whoami')).body.token_id;
    squatter = (await op('POST', '/accounts', { name: 'Squatter' })).body;
    owner = (await op('POST', '/accounts', { name: 'Owner' })).body;
    asSquatter = adminClient(srv, await adminToken(srv, squatter.id));
    asOwner = adminClient(srv, await adminToken(srv, owner.id));
  });

  after(async () => {
    assert.equal(await srv.stop(), 0);
    await srv.cleanup();
  });

  async function issuerOf(account) {
    const res = await op('GET', `/accounts/${account.id}/idp`);
    return res.status === 200 ? res.body.issuer : null;
  }

  async function idpEvents(account) {
    const res = await op('GET', `/accounts/${account.id}/audit?kind=idp.changed`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.events;
  }

  test('first account blocks the owner', async () => {
    const first = await asSquatter('PUT', `/accounts/${squatter.id}/idp`, settings());
    assert.equal(first.status, 200, JSON.stringify(first.body));

    const blocked = await asOwner('PUT', `/accounts/${owner.id}/idp`, settings());
    assert.equal(blocked.status, 409, JSON.stringify(blocked.body));
    assert.match(blocked.body.error, /already connected to another account/);
    assert.match(blocked.body.error, /take_over_issuer/);
  });

  test('account token cannot take over', async () => {
    const res = await asOwner('PUT', `/accounts/${owner.id}/idp`,
      settings({ take_over_issuer: true }));
    assert.equal(res.status, 403, JSON.stringify(res.body));
    assert.match(res.body.error, /operator token/);
    assert.equal(await issuerOf(squatter), ISSUER);
    assert.equal(await issuerOf(owner), null);

    // The squatter's own token cannot use the flag on its own account either.
    const own = await asSquatter('PUT', `/accounts/${squatter.id}/idp`,
      settings({ take_over_issuer: true }));
    assert.equal(own.status, 403, JSON.stringify(own.body));
  });

  test('flag must be a boolean', async () => {
    const res = await op('PUT', `/accounts/${owner.id}/idp`,
      settings({ take_over_issuer: 'yes' }));
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.match(res.body.error, /take_over_issuer must be true or false/);
    assert.equal(await issuerOf(squatter), ISSUER);
  });

  test('operator without flag gets 409', async () => {
    const res = await op('PUT', `/accounts/${owner.id}/idp`, settings());
    assert.equal(res.status, 409, JSON.stringify(res.body));
    assert.equal(await issuerOf(squatter), ISSUER);
  });

  test('operator takes the issuer over', async () => {
    const res = await op('PUT', `/accounts/${owner.id}/idp`,
      settings({ take_over_issuer: true }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.issuer, ISSUER);
    assert.equal(res.body.account, owner.id);
    assert.equal(await issuerOf(owner), ISSUER);
    assert.equal(await issuerOf(squatter), null);
  });

  test('take-over audited on both accounts', async () => {
    const lost = (await idpEvents(squatter)).find((e) => e.details.taken_over_by);
    assert.ok(lost, 'the squatter has no idp.changed event with taken_over_by');
    assert.equal(lost.details.taken_over_by, owner.id);
    assert.equal(lost.details.removed_issuer, ISSUER);
    assert.equal(lost.actor, `admin:${operatorId}`);

    const gained = (await idpEvents(owner)).find((e) => e.details.taken_over_from);
    assert.ok(gained, 'the owner has no idp.changed event with taken_over_from');
    assert.equal(gained.details.taken_over_from, squatter.id);
    assert.equal(gained.details.issuer, ISSUER);
    assert.equal(gained.actor, `admin:${operatorId}`);
    assert.ok(!JSON.stringify(gained).includes('secret-1234'), 'the secret must not be audited');
  });

  test('squatter cannot claim it back', async () => {
    const res = await asSquatter('PUT', `/accounts/${squatter.id}/idp`, settings());
    assert.equal(res.status, 409, JSON.stringify(res.body));
    assert.equal(await issuerOf(owner), ISSUER);
  });

  test('flag without a rival changes nothing else', async () => {
    const events = (await idpEvents(owner)).length;
    const res = await op('PUT', `/accounts/${owner.id}/idp`,
      { issuer: ISSUER, client_id: '0oaother', take_over_issuer: true });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.client_id, '0oaother');
    const after = await idpEvents(owner);
    assert.equal(after.length, events + 1);
    assert.equal(after[0].details.taken_over_from, undefined);
  });
});
