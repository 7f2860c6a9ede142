// Sign-in when the service's master key is missing or is not the key that encrypted the
// account's client secret: the browser gets 503, and the log names the master key settings.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { rawRequest } from './lib/agent.mjs';
import { sleep, startStack, stopStack, tail } from './lib/stack.mjs';

describe('sign-in without the right master key', () => {
    let stack;

    before(async () => {
        stack = await startStack({ provider: 'faulty' });
    });

    after(async () => {
        await stopStack(stack);
    });

    // Restarts idgate with `masterKey` (none when undefined) and starts a sign-in.
    async function startWithKey(masterKey) {
        if (masterKey === undefined) {
            delete stack.srv.env.IDGATE_OIDC_MASTER_KEY;
        } else {
            stack.srv.env.IDGATE_OIDC_MASTER_KEY = masterKey;
        }
        await stack.srv.restart();
        const logStart = stack.srv.logs().length;
        const res = await rawRequest(`${stack.baseUrl}/auth/okta?account=${stack.account.id}`);
        // The log line may arrive after the response.
        for (let i = 0; i < 100 && !/msg="sign-in (not )?started"/.test(
            stack.srv.logs().slice(logStart)); i++) {
            await sleep(20);
        }
        return { res, log: stack.srv.logs().slice(logStart) };
    }

    function assertKeyNotLogged(log) {
        assert.ok(!stack.srv.logs().includes(stack.masterKey), 'the master key is in the log');
        assert.ok(!stack.srv.logs().includes(stack.clientSecret), 'the secret is in the log');
        assert.doesNotMatch(log, /no usable identity provider settings/);
    }

    test('wrong master key names the key', async () => {
        const other = randomBytes(32).toString('hex');
        const { res, log } = await startWithKey(other);
        assert.equal(res.status, 503, `${res.status} ${res.body}\n${tail(stack.srv.logs())}`);
        assert.match(res.body, /Sign-in unavailable/);
        assert.match(log, /reason="client secret cannot be decrypted with this master key/);
        assert.match(log, /\[oidc\] master_key_file or IDGATE_OIDC_MASTER_KEY/);
        assert.ok(!log.includes(other), 'the wrong master key is in the log');
        assertKeyNotLogged(log);
    });

    test('missing master key names the setting', async () => {
        const { res, log } = await startWithKey(undefined);
        assert.equal(res.status, 503, `${res.status} ${res.body}\n${tail(stack.srv.logs())}`);
        assert.match(log, /reason="no master key, so the client secret cannot be decrypted/);
        assert.match(log, /set \[oidc\] master_key_file or IDGATE_OIDC_MASTER_KEY/);
        assertKeyNotLogged(log);
    });

    test('right master key starts sign-in', async () => {
        const { res } = await startWithKey(stack.masterKey);
        assert.equal(res.status, 302, `${res.status} ${res.body}\n${tail(stack.srv.logs())}`);
    });

    test('account without provider still 400', async () => {
        const other = await stack.srv.createAccount('Beta');
        const res = await rawRequest(`${stack.baseUrl}/auth/okta?account=${other.id}`);
        assert.equal(res.status, 400);
        assert.match(res.body, /Sign-in not set up/);
        await stack.srv.waitForLog(/reason="no identity provider settings"/);
    });
});
