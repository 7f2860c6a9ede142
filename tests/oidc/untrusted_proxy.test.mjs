// The per-address limit on sign-in starts, reached by a peer that sends X-Forwarded-For without
// being listed in [http] trusted_proxies. All clients behind such a proxy share one limit, so
// the server logs a warning that names the peer and the setting, at most once a minute.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { initiateUrl, startStack, stopStack, tail } from './lib/stack.mjs';

const WARNING = /not a trusted proxy/;

/** Starts one sign-in with `headers` and returns the response status. */
async function startSignIn(stack, headers = {}) {
    const res = await fetch(initiateUrl(stack, { loginHint: 'someone@acme.test' }), {
        redirect: 'manual',
        headers,
        signal: AbortSignal.timeout(10000),
    });
    await res.text();
    return res.status;
}

function warningLines(stack) {
    return stack.srv.logs().split('\n').filter((line) => WARNING.test(line));
}

describe('untrusted proxy warning', () => {
    let stack;

    before(async () => {
        stack = await startStack({ provider: 'real',
            config: { oidc: { login_starts_per_address: 2 } } });
    });

    after(async () => {
        await stopStack(stack);
    });

    test('limit without X-Forwarded-For is quiet', async () => {
        const statuses = [];
        for (let i = 0; i < 3; i++) {
            statuses.push(await startSignIn(stack));
        }
        assert.deepEqual(statuses, [302, 302, 429], tail(stack.srv.logs()));
        assert.deepEqual(warningLines(stack), []);
    });

    test('proxied clients warn once', async () => {
        const statuses = [];
        for (let i = 0; i < 4; i++) {
            statuses.push(await startSignIn(stack, { 'x-forwarded-for': `198.51.100.${i + 1}` }));
        }
        assert.deepEqual(statuses, [429, 429, 429, 429], tail(stack.srv.logs()));
        const lines = warningLines(stack);
        assert.equal(lines.length, 1, tail(stack.srv.logs()));
        assert.match(lines[0], /peer="?127\.0\.0\.1/);
        assert.match(lines[0], /\[http\] trusted_proxies/);
    });
});

describe('trusted proxy limit', () => {
    let stack;

    before(async () => {
        stack = await startStack({ provider: 'real', config: {
            http: { trusted_proxies: '127.0.0.1' },
            oidc: { login_starts_per_address: 1 },
        } });
    });

    after(async () => {
        await stopStack(stack);
    });

    test('trusted peer gets no warning', async () => {
        const headers = { 'x-forwarded-for': '198.51.100.7' };
        assert.equal(await startSignIn(stack, headers), 302, tail(stack.srv.logs()));
        assert.equal(await startSignIn(stack, headers), 429, tail(stack.srv.logs()));
        assert.deepEqual(warningLines(stack), []);
    });
});
