// The administrator's whole journey clicked through the console in headless
// Chromium. The test signs in with an admin token, creates the account,
// claims and verifies a domain, and sets incoming keys against a test
// OpenID provider. It creates a SCIM access key and provisions users and a
// group over SCIM. It sees the not-found message for a group not yet
// pushed, maps the pushed group to Pro, and sees a user's tier and the
// counts change. A user signs in through the provider, and the console
// shows the link that sign-in made and unlinks it. It then checks what an
// administrator relies on: a deactivated user is not counted, the key limit is shown before it is hit,
// revoking and removing ask first, the audit log is newest first, and the
// page fits a phone-sized screen.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import { startIdgate } from '../integration/lib/idgate.mjs';
import { scimGroup, scimPatch, scimUser } from '../integration/admin_helpers.mjs';
import { launchBrowser, withScreenshot } from '../oidc/lib/browser.mjs';
import { createTestCa } from '../oidc/lib/ca.mjs';
import { startDnsServer } from '../oidc/lib/dns.mjs';
import { startProvider } from '../oidc/lib/provider.mjs';

const NOT_SYNCED =
  'group not found: the directory may not have finished syncing; try again in a few minutes';

describe('admin console journey', () => {
  let ca;
  let op;
  let dns;
  let srv;
  let browser;
  let page;
  let operatorToken;
  const clientId = 'idgate-console-client';
  const clientSecret = randomBytes(24).toString('base64url');

  before(async () => {
    ca = createTestCa();
    op = await startProvider({ tls: ca });
    dns = await startDnsServer();
    srv = await startIdgate({
      config: {
        admin: { dns_resolver: dns.address, dns_timeout: '3s' },
        oidc: { allowed_hosts: new URL(op.issuer).host, ca_file: ca.caFile },
      },
      env: { IDGATE_OIDC_MASTER_KEY: randomBytes(32).toString('hex') },
    });
    await op.registerClient({
      clientId, clientSecret, redirectUris: [`${srv.baseUrl}/auth/okta/callback`],
    });
    operatorToken = (await srv.cliJson(['admin-token', 'create'])).token;
    browser = await launchBrowser({ trustCert: ca.cert });
    page = await browser.newPage();
  });

  after(async () => {
    if (browser) await browser.close();
    if (srv) {
      assert.equal(await srv.stop(), 0);
      await srv.cleanup();
    }
    if (dns) await dns.stop();
    if (op) await op.stop();
    if (ca) ca.remove();
  });

  const step = (name, fn) => test(name, () => withScreenshot(page, name, fn));

  step('page is served with a strict policy', async () => {
    const res = await page.goto(`${srv.baseUrl}/console`);
    assert.equal(res.status(), 200);
    const csp = res.headers()['content-security-policy'];
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'idgate console');
  });

  step('wrong token shows an error', async () => {
    await page.getByLabel('Admin token').fill('idga_wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#signin-error').filter({ hasText: 'invalid admin token' }).waitFor();
  });

  step('sign in and create the account', async () => {
    await page.getByLabel('Admin token').fill(operatorToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('New account name').fill('Acme');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.locator('#whoami').filter({ hasText: 'Account: Acme' }).waitFor();
    assert.match(await page.locator('#account').textContent(), /Acme/);
  });

  step('claim and verify a domain', async () => {
    await page.getByLabel('Domain', { exact: true }).fill('acme.test');
    await page.getByRole('button', { name: 'Add domain' }).click();
    const row = page.locator('#domain-rows tr').filter({ hasText: 'acme.test' });
    await row.filter({ hasText: 'Not verified' }).waitFor();
    const name = await row.locator('td').nth(2).textContent();
    const value = await row.locator('td').nth(3).textContent();
    assert.equal(name, '_idgate-challenge.acme.test');
    assert.match(value, /^idgate-verification=/);

    // Verifying before the record exists shows why it failed.
    await page.getByRole('button', { name: 'Verify acme.test' }).click();
    await page.locator('#domains-error').filter({ hasText: 'verification failed' }).waitFor();

    dns.setTxt(name, [value]);
    await page.getByRole('button', { name: 'Verify acme.test' }).click();
    await row.filter({ hasText: /^acme\.testVerified/ }).waitFor();
    assert.equal(await page.locator('#domains-error').textContent(), '');
  });

  step('set incoming keys with validation', async () => {
    await page.getByLabel('Issuer URI').fill('https://login.evil.example');
    await page.getByLabel('Client ID').fill(clientId);
    await page.getByLabel('Client secret').fill(clientSecret);
    await page.getByRole('button', { name: 'Save incoming keys' }).click();
    await page.locator('#idp-error').filter({ hasText: /\S/ }).waitFor();
    assert.equal(await page.locator('#idp-status').textContent(), '');

    await page.getByLabel('Issuer URI').fill(op.issuer);
    await page.getByLabel('Client secret').fill(clientSecret);
    await page.getByRole('button', { name: 'Save incoming keys' }).click();
    await page.locator('#idp-status').filter({ hasText: 'Incoming keys saved.' }).waitFor();
    assert.equal(await page.locator('#idp-error').textContent(), '');
    const current = await page.locator('#idp-current').textContent();
    assert.ok(current.includes(clientSecret.slice(-4)), current);
    assert.ok(!current.includes(clientSecret), 'the whole secret must never be shown');
    assert.equal(await page.getByLabel('Client secret').inputValue(), '');

    // Saving again with the secret left empty keeps the stored one.
    assert.equal(await page.getByLabel('Client secret').evaluate((el) => el.required), false);
    await page.locator('#idp-status').filter({ hasText: 'Incoming keys saved.' }).waitFor();
    await page.evaluate(() => { document.getElementById('idp-status').textContent = ''; });
    await page.getByRole('button', { name: 'Save incoming keys' }).click();
    await page.locator('#idp-status').filter({ hasText: 'Incoming keys saved.' }).waitFor();
    assert.equal(await page.locator('#idp-error').textContent(), '');
    assert.ok((await page.locator('#idp-current').textContent()).includes(clientSecret.slice(-4)));
  });

  let scimToken;

  step('create a SCIM access key shown once', async () => {
    await page.getByRole('button', { name: 'Create access key' }).click();
    await page.locator('#key-once').waitFor();
    scimToken = await page.getByLabel('New access key').inputValue();
    assert.match(scimToken, /^scim_/);
    await page.locator('#key-rows tr').filter({ hasText: 'Active' }).waitFor();
    await page.getByRole('button', { name: 'Done' }).click();
    await page.locator('#key-once').waitFor({ state: 'hidden' });
    assert.equal(await page.getByLabel('New access key', { exact: true }).inputValue(), '');
  });

  let alice;
  let bob;

  step('provision users and push a group', async () => {
    alice = await scimUser(srv, scimToken, 'alice@acme.test');
    bob = await scimUser(srv, scimToken, 'bob@acme.test');
    await scimGroup(srv, scimToken, 'Engineering', [alice.id]);
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.locator('#user-rows tr').filter({ hasText: 'alice@acme.test' })
      .filter({ hasText: 'basic' }).waitFor();
    assert.equal(await page.locator('#count-basic').textContent(), '2');
    assert.equal(await page.locator('#count-pro').textContent(), '0');
  });

  step('group not yet pushed shows advice', async () => {
    await page.getByLabel('Group name').fill('Designers');
    await page.getByLabel('Tier', { exact: true }).first().selectOption('pro');
    await page.getByRole('button', { name: 'Add directory group' }).click();
    await page.locator('#groups-error').filter({ hasText: NOT_SYNCED }).waitFor();
  });

  step('map the pushed group to Pro', async () => {
    await page.getByLabel('Group name').fill('Engineering');
    await page.locator('#group-tier').selectOption('pro');
    await page.getByRole('button', { name: 'Add directory group' }).click();
    const row = page.locator('#group-rows tr').filter({ hasText: 'Engineering' });
    await row.waitFor();
    assert.equal(await row.locator('td').nth(2).textContent(), '1');
    assert.equal(await page.locator('#groups-error').textContent(), '');
    await page.locator('#user-rows tr').filter({ hasText: 'alice@acme.test' })
      .filter({ hasText: 'pro' }).waitFor();
    await page.locator('#count-pro').filter({ hasText: '1' }).waitFor();
    assert.equal(await page.locator('#count-basic').textContent(), '1');
    assert.equal(await page.locator('#count-billable').textContent(), '2');
  });

  step('tier change in the table updates counts', async () => {
    const save = page.getByRole('button', { name: 'Save tier of Engineering' });
    assert.equal(await save.isDisabled(), true);
    await page.getByLabel('Tier of Engineering', { exact: true }).selectOption('basic');
    await save.click();
    await page.locator('#count-pro').filter({ hasText: '0' }).waitFor();
    assert.equal(await page.locator('#count-basic').textContent(), '2');
    await page.getByLabel('Tier of Engineering', { exact: true }).selectOption('pro');
    await page.getByRole('button', { name: 'Save tier of Engineering' }).click();
    await page.locator('#count-pro').filter({ hasText: '1' }).waitFor();
  });

  step('arrow keys on a tier list move no one', async () => {
    const select = page.getByLabel('Tier of Engineering', { exact: true });
    await select.focus();
    await page.keyboard.press('ArrowUp');
    await page.waitForTimeout(300);
    assert.equal(await page.locator('#count-pro').textContent(), '1');
    assert.equal(await page.getByRole('button', { name: 'Save tier of Engineering' }).isDisabled(), false);
    await select.selectOption('pro');
  });

  step('user links show a sign-in and unlink', async () => {
    const toggle = page.getByRole('button', { name: 'Links of alice@acme.test' });
    const details = page.locator('#user-rows td.links');
    const unlink = page.getByRole('button', { name: 'Unlink alice@acme.test' });

    // Before any sign-in there is no link and nothing to unlink.
    await toggle.click();
    await details.filter({ hasText: 'alice@acme.test has no sign-in link.' }).waitFor();
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    assert.equal(await unlink.count(), 0);
    await toggle.click();
    await details.waitFor({ state: 'detached' });
    assert.equal(await toggle.getAttribute('aria-expanded'), 'false');

    // Provider settings saved now use the account's own redirect URI, which
    // the customer registers in the provider's application.
    const accountId = await page.locator('#account').inputValue();
    await op.registerClient({
      clientId, clientSecret,
      redirectUris: [`${srv.baseUrl}/auth/okta/callback`, `${srv.baseUrl}/auth/okta/callback/${accountId}`],
    });
    // Alice signs in by verified email, which links the provider's sub to her.
    op.addUser({ login: 'alice@acme.test', sub: 'okta-sub-alice', email: 'alice@acme.test' });
    const context = await browser.newContext();
    const session = async () => (await context.request.get(`${srv.baseUrl}/session`,
      { failOnStatusCode: false, maxRedirects: 0 })).status();
    try {
      const signin = await context.newPage();
      await withScreenshot(signin, 'alice signs in', async () => {
        const callback = signin.waitForResponse((res) =>
          res.url().startsWith(`${srv.baseUrl}/auth/okta/callback`) && res.request().method() === 'GET');
        const start = new URL(`${srv.baseUrl}/auth/okta`);
        start.searchParams.set('iss', op.issuer);
        start.searchParams.set('login_hint', 'alice@acme.test');
        start.searchParams.set('target_link_uri', '/app');
        await signin.goto(start.href);
        await signin.waitForURL((url) => url.href.startsWith(`${op.issuer}/interaction/`));
        await signin.fill('#login', 'alice@acme.test');
        await signin.click('#submit');
        const res = await callback;
        assert.ok(res.status() < 400, `sign-in callback returned ${res.status()}`);
      });
      assert.equal(await session(), 200);

      await toggle.click();
      const linkRow = details.locator('tbody tr');
      await linkRow.first().waitFor();
      assert.equal(await linkRow.count(), 1);
      assert.equal(await linkRow.locator('td').nth(0).textContent(), op.issuer);
      assert.equal(await linkRow.locator('td').nth(1).textContent(), 'okta-sub-alice');
      assert.match(await linkRow.locator('time').getAttribute('datetime'), /^\d{4}-\d{2}-\d{2}T/);

      // Dismissing the confirmation keeps the link and the session.
      const questions = [];
      page.once('dialog', (dialog) => { questions.push(dialog.message()); dialog.dismiss(); });
      await unlink.click();
      await page.waitForTimeout(200);
      assert.equal(questions.length, 1);
      assert.match(questions[0], /sessions end/);
      assert.match(questions[0], /next sign-in .* links the user again/);
      assert.equal(await linkRow.count(), 1);
      assert.equal(await session(), 200);

      page.once('dialog', (dialog) => dialog.accept());
      await unlink.click();
      await page.locator('#users-status')
        .filter({ hasText: "Unlinked alice@acme.test: removed 1 link and ended the user's sessions." })
        .waitFor();
      await details.filter({ hasText: 'alice@acme.test has no sign-in link.' }).waitFor();
      assert.equal(await unlink.count(), 0);
      assert.equal(await page.locator('#users-error').textContent(), '');
      assert.equal(await session(), 401);
      await page.locator('#audit-rows tr').first().filter({ hasText: 'user.unlinked' }).waitFor();
    } finally {
      await context.close();
    }
  });

  step('account token opens its account only', async () => {
    const accountId = await page.locator('#account').inputValue();
    const scoped = (await srv.cliJson(['admin-token', 'create', '--account', accountId])).token;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin token').fill(scoped);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#whoami').filter({ hasText: 'Account: Acme' }).waitFor();
    assert.equal(await page.locator('#account-create').isHidden(), true);
    await page.locator('#count-pro').filter({ hasText: '1' }).waitFor();
  });

  step('audit log lists the journey', async () => {
    await page.getByRole('button', { name: 'Show' }).last().click();
    const kinds = await page.locator('#audit-rows tr td:nth-child(2)').allTextContents();
    for (const kind of ['account.created', 'domain.added', 'domain.verified', 'idp.changed',
      'key.created', 'user.created', 'group.created', 'mapping.added', 'mapping.changed']) {
      assert.ok(kinds.includes(kind), `audit log lacks ${kind}: ${kinds.join(', ')}`);
    }
  });

  step('deactivated user is not counted', async () => {
    await scimPatch(srv, scimToken, `/Users/${bob.id}`, [{ op: 'replace', path: 'active', value: false }]);
    await page.getByRole('button', { name: 'Refresh' }).click();
    const row = page.locator('#user-rows tr').filter({ hasText: 'bob@acme.test' });
    await row.filter({ hasText: 'Not counted' }).waitFor();
    assert.equal(await row.locator('td').nth(2).textContent(), 'No');
    await page.locator('#count-basic').filter({ hasText: '0' }).waitFor();
    assert.equal(await page.locator('#count-billable').textContent(), '1');
  });

  step('second key disables key creation', async () => {
    await page.getByRole('button', { name: 'Create access key' }).click();
    await page.locator('#key-once').waitFor();
    await page.getByRole('button', { name: 'Done' }).click();
    await page.locator('#key-limit').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Create access key' }).isDisabled(), true);
  });

  step('revoke asks before acting', async () => {
    const prefix = scimToken.slice('scim_'.length, 'scim_'.length + 8);
    const revoke = page.getByRole('button', { name: `Revoke key ${prefix}` });
    const questions = [];
    page.once('dialog', (dialog) => { questions.push(dialog.message()); dialog.dismiss(); });
    await revoke.click();
    await page.waitForTimeout(200);
    assert.equal(questions.length, 1);
    assert.match(questions[0], /401/);
    assert.equal(await page.locator('#key-rows tr').filter({ hasText: 'Revoked' }).count(), 0);

    page.once('dialog', (dialog) => dialog.accept());
    await revoke.click();
    await page.locator('#key-rows tr').filter({ hasText: 'Revoked' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Create access key' }).isDisabled(), false);
    assert.equal(await page.locator('#key-limit').isHidden(), true);
  });

  step('audit log lists newest first', async () => {
    assert.match(await page.locator('#audit caption').textContent(), /newest first/);
    await page.getByRole('button', { name: 'Show' }).last().click();
    await page.locator('#audit-rows tr').first().filter({ hasText: 'key.revoked' }).waitFor();
    const time = await page.locator('#audit-rows tr').first().locator('time').getAttribute('datetime');
    assert.match(time, /^\d{4}-\d{2}-\d{2}T/);

    // Actors are named by key and token prefix, with the raw actor as the title.
    const created = page.locator('#audit-rows tr').filter({ hasText: 'user.created' }).first();
    const scimActor = created.locator('td').nth(2);
    assert.equal(await scimActor.textContent(), `SCIM key ${scimToken.slice(5, 13)}`);
    assert.match(await scimActor.getAttribute('title'), /^scim:/);
    const revoked = page.locator('#audit-rows tr').first().locator('td').nth(2);
    assert.match(await revoked.textContent(), /^admin token idga_/);
  });

  step('removing the last mapping shows an empty table', async () => {
    page.once('dialog', (dialog) => dialog.accept());
    await page.getByRole('button', { name: 'Remove Engineering' }).click();
    await page.locator('#group-rows td.empty').filter({ hasText: 'No directory group mapped yet' }).waitFor();
    await page.locator('#count-pro').filter({ hasText: '0' }).waitFor();
  });

  step('disconnect the identity provider', async () => {
    page.once('dialog', (dialog) => dialog.accept());
    await page.getByRole('button', { name: 'Disconnect identity provider' }).click();
    await page.locator('#idp-status').filter({ hasText: 'Identity provider disconnected.' }).waitFor();
    assert.equal(await page.locator('#idp-current').textContent(), 'No identity provider is set up yet.');
    assert.equal(await page.getByRole('button', { name: 'Disconnect identity provider' }).isHidden(), true);
    assert.equal(await page.getByLabel('Client secret').evaluate((el) => el.required), true);
    await page.locator('#audit-rows tr').first().filter({ hasText: 'idp.deleted' }).waitFor();
  });

  step('operator takes over an issuer', async () => {
    // The account token signed in earlier is not offered the take-over.
    assert.equal(await page.locator('#idp-take-over').isHidden(), true);
    const accountId = await page.locator('#account').inputValue();

    // Another account names the provider's issuer while Acme has none.
    const squatter = await srv.createAccount('Squatter');
    const secretFile = path.join(srv.dir, 'squatter-secret');
    writeFileSync(secretFile, 'squatter-secret-1234\n');
    await srv.cliJson(['idp', 'set', '--account', squatter.id, '--issuer', op.issuer,
      '--client-id', 'squatter-client', '--client-secret-file', secretFile]);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin token').fill(operatorToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#account').selectOption(accountId);
    await page.getByRole('button', { name: 'Open', exact: true }).click();
    await page.locator('#whoami').filter({ hasText: 'Account: Acme' }).waitFor();
    assert.equal(await page.getByLabel('Take over issuer').isVisible(), true);
    await page.getByLabel('Issuer URI').fill(op.issuer);
    await page.getByLabel('Client ID').fill(clientId);
    await page.getByLabel('Client secret').fill(clientSecret);
    await page.getByRole('button', { name: 'Save incoming keys' }).click();
    await page.locator('#idp-error').filter({ hasText: 'already connected to another account' }).waitFor();

    await page.getByLabel('Take over issuer').check();
    page.once('dialog', (dialog) => dialog.accept());
    await page.getByRole('button', { name: 'Save incoming keys' }).click();
    await page.locator('#idp-status').filter({ hasText: 'Incoming keys saved.' }).waitFor();
    assert.equal(await page.locator('#idp-error').textContent(), '');
    assert.equal(await page.getByLabel('Take over issuer').isChecked(), false);
    await page.locator('#audit-rows tr').first().filter({ hasText: 'idp.changed' }).waitFor();
    const lost = await srv.cli(['idp', 'get', '--account', squatter.id]);
    assert.equal(lost.code, 1, lost.stdout);
  });

  step('narrow screen needs no sideways scrolling', async () => {
    await page.setViewportSize({ width: 390, height: 800 });
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 390, `page is ${width}px wide`);
  });
});
