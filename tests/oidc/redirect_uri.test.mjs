// Redirect URIs per account. New identity-provider settings use
// <base_url>/auth/okta/callback/<account id>, so an authorization response that arrives with
// another account's login transaction (a mix-up across accounts) is rejected before its code
// goes to any token endpoint. Settings from before per-account URIs keep the shared
// <base_url>/auth/okta/callback until the operator switches them, and the shared path serves
// only such accounts.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { adminClient, adminToken } from '../integration/admin_helpers.mjs';
import { assertClientError, describeFlow, newAgent, signIn } from './lib/flows.mjs';
import { initiateUrl, provisionUser, startStack, stopStack, tail } from './lib/stack.mjs';

const USER = { sub: 'redirect-uri-sub-1', email: 'ida@acme.test',
    preferred_username: 'ida@acme.test', name: 'Ida Example' };

describe('redirect URI per account', () => {
    let stack;
    let admin;

    before(async () => {
        stack = await startStack({ provider: 'faulty' });
        stack.op.user = { ...USER };
        await provisionUser(stack, { userName: USER.email, externalId: USER.sub,
            displayName: USER.name });
        admin = adminClient(stack.srv, await adminToken(stack.srv));
    });

    after(async () => {
        await stopStack(stack);
    });

    // Runs `idgate idp set` for the stack's account with `extra` arguments.
    function setIdp(extra = []) {
        return stack.srv.cli(['idp', 'set', '--account', stack.account.id, '--issuer',
            stack.issuer, '--client-id', stack.clientId, '--client-secret-file',
            join(stack.secretDir, 'client-secret'), ...extra]);
    }

    // Runs a sign-in up to the provider's redirect back, which follows the redirect_uri
    // of the authorization request. Returns { agent, callbackUrl }.
    async function untilCallback() {
        const agent = newAgent(stack);
        const res = await agent.follow(initiateUrl(stack, { loginHint: USER.email,
            target: '/app' }), {}, {
            maxRedirects: 4,
            stopAt: (next) => next.startsWith(stack.sharedRedirectUri),
        });
        assert.ok(res.stoppedAt, `the flow did not reach the callback: ${res.status} `
            + `${res.body.slice(0, 200)}\n${tail(stack.srv.logs())}`);
        return { agent, callbackUrl: res.stoppedAt };
    }

    test('new settings get own URI', async () => {
        assert.equal(stack.idp.redirect_uri_mode, 'account');
        assert.equal(stack.idp.redirect_uri, stack.redirectUri);
        const settings = await stack.srv.cliJson(['idp', 'get', '--account', stack.account.id]);
        assert.equal(settings.redirect_uri_mode, 'account');
        assert.equal(settings.redirect_uri, stack.redirectUri);
        const api = await admin('GET', `/accounts/${stack.account.id}/idp`);
        assert.equal(api.status, 200);
        assert.equal(api.body.redirect_uri_mode, 'account');
        assert.equal(api.body.redirect_uri, stack.redirectUri);
    });

    test('sign-in uses own URI', async () => {
        const requests = stack.op.tokenRequests.length;
        const flow = await signIn(stack, { loginHint: USER.email });
        assert.equal(flow.session.status, 200, describeFlow(stack, flow));
        const sent = new URLSearchParams(stack.op.authorizations.at(-1));
        assert.equal(sent.get('redirect_uri'), stack.redirectUri);
        // The provider checks that the token request repeats that redirect_uri.
        const token = stack.op.tokenRequests.slice(requests);
        assert.equal(token.length, 1);
        assert.equal(token[0].error, undefined);
    });

    test('other account path rejected', async () => {
        const other = await stack.srv.createAccount('Mixup Target');
        const { agent, callbackUrl } = await untilCallback();
        const requests = stack.op.tokenRequests.length;
        const url = new URL(callbackUrl);
        url.pathname = `/auth/okta/callback/${other.id}`;
        const res = await agent.request(url.href);
        assertClientError(res.status, `callback at another account's path\n${
            tail(stack.srv.logs())}`);
        assert.equal(stack.op.tokenRequests.length, requests,
            'the code went to the token endpoint of the transaction\'s provider');
        assert.match(stack.srv.logs(), new RegExp(`path_account=${other.id}`));
        const session = await agent.request(`${stack.publicUrl}/session`);
        assert.equal(session.status, 401);
    });

    test('shared path rejected for own URI', async () => {
        const { agent, callbackUrl } = await untilCallback();
        const requests = stack.op.tokenRequests.length;
        const url = new URL(callbackUrl);
        url.pathname = '/auth/okta/callback';
        const res = await agent.request(url.href);
        assertClientError(res.status, `callback at the shared path\n${tail(stack.srv.logs())}`);
        assert.equal(stack.op.tokenRequests.length, requests,
            'the code went to a token endpoint');
        assert.match(stack.srv.logs(), /response at the shared redirect URI for an account/);
    });

    test('operator switches to shared and back', async () => {
        const shared = await setIdp(['--redirect-uri-mode', 'shared']);
        assert.equal(shared.code, 0, shared.stderr);
        const out = JSON.parse(shared.stdout);
        assert.equal(out.redirect_uri_mode, 'shared');
        assert.equal(out.redirect_uri, stack.sharedRedirectUri);

        const flow = await signIn(stack, { loginHint: USER.email });
        assert.equal(flow.session.status, 200, describeFlow(stack, flow));
        const sent = new URLSearchParams(stack.op.authorizations.at(-1));
        assert.equal(sent.get('redirect_uri'), stack.sharedRedirectUri);

        // Saving the settings again without the flag keeps the mode.
        const resaved = await setIdp();
        assert.equal(resaved.code, 0, resaved.stderr);
        assert.equal(JSON.parse(resaved.stdout).redirect_uri_mode, 'shared');

        const back = await admin('PUT', `/accounts/${stack.account.id}/idp`, {
            issuer: stack.issuer, client_id: stack.clientId, redirect_uri_mode: 'account' });
        assert.equal(back.status, 200, JSON.stringify(back.body));
        assert.equal(back.body.redirect_uri, stack.redirectUri);
        const again = await signIn(stack, { loginHint: USER.email });
        assert.equal(again.session.status, 200, describeFlow(stack, again));
        assert.equal(new URLSearchParams(stack.op.authorizations.at(-1)).get('redirect_uri'),
            stack.redirectUri);
    });

    test('invalid redirect URI mode rejected', async () => {
        const cli = await setIdp(['--redirect-uri-mode', 'per-issuer']);
        assert.equal(cli.code, 1);
        assert.match(cli.stderr, /invalid redirect_uri_mode "per-issuer" \(expected "account" or "shared"\)/);
        const api = await admin('PUT', `/accounts/${stack.account.id}/idp`, {
            issuer: stack.issuer, client_id: stack.clientId, redirect_uri_mode: true });
        assert.equal(api.status, 400);
        const settings = await stack.srv.cliJson(['idp', 'get', '--account', stack.account.id]);
        assert.equal(settings.redirect_uri_mode, 'account');
    });

    test('settings from earlier builds stay shared', async () => {
        // Removes redirect_uri_mode from the stored record, as earlier builds wrote it.
        await stack.srv.stop();
        const dataDir = stack.srv.config.store.path;
        const dump = execFileSync('mdb_dump', ['-p', '-s', 'idps', dataDir], { encoding: 'utf8' });
        const lines = dump.split('\n');
        const body = lines.slice(lines.indexOf('HEADER=END') + 1).filter((l) => l.startsWith(' '));
        const record = JSON.parse(body[body.indexOf(` ${stack.account.id}`) + 1].slice(1));
        assert.equal(record.redirect_uri_mode, 'account');
        delete record.redirect_uri_mode;
        const input = join(stack.srv.dir, 'idps.txt');
        writeFileSync(input, `${stack.account.id}\n${JSON.stringify(record)}\n`);
        execFileSync('mdb_load', ['-T', '-s', 'idps', '-f', input, dataDir]);
        await stack.srv.restart();

        const settings = await stack.srv.cliJson(['idp', 'get', '--account', stack.account.id]);
        assert.equal(settings.redirect_uri_mode, 'shared');
        assert.equal(settings.redirect_uri, stack.sharedRedirectUri);
        const flow = await signIn(stack, { loginHint: USER.email });
        assert.equal(flow.session.status, 200, describeFlow(stack, flow));
        assert.equal(new URLSearchParams(stack.op.authorizations.at(-1)).get('redirect_uri'),
            stack.sharedRedirectUri);

    });
});
