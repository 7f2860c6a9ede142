// Sign-in flows through the fault-injecting provider, driven by the scripted user agent.
import assert from 'node:assert/strict';
import { UserAgent } from './agent.mjs';
import { initiateUrl, tail } from './stack.mjs';

export const TARGET = '/app';

/** Returns a fresh user agent (no cookies) that trusts the stack's CA. */
export function newAgent(stack) {
    return new UserAgent({ ca: stack.ca.ca });
}

/**
 * Runs one IdP-initiated sign-in: idgate's initiate endpoint, the provider's authorization
 * endpoint (which approves at once) and idgate's callback, stopping before the browser would
 * load the target. Then requests GET /session with the same cookies.
 *
 * Returns { callback, session, tokenRequested, agent, chain }: callback is the last response
 * of the chain (idgate's answer to the callback when the flow got that far).
 */
export async function signIn(stack, { agent = newAgent(stack), loginHint, target = TARGET,
    url } = {}) {
    const tokenRequestsBefore = stack.op.tokenRequests.length;
    const start = url ?? initiateUrl(stack, { loginHint: loginHint ?? stack.op.user.email,
        target });
    const targetUrl = new URL(target, stack.publicUrl).href;
    const callback = await agent.follow(start, {}, {
        maxRedirects: 6,
        stopAt: (next) => next === targetUrl,
    });
    const session = await agent.request(`${stack.publicUrl}/session`);
    return {
        callback,
        session,
        agent,
        chain: callback.chain,
        tokenRequested: stack.op.tokenRequests.length > tokenRequestsBefore,
    };
}

/** Asserts that status is a 4xx code: a clear client error, neither success nor a crash. */
export function assertClientError(status, message) {
    assert.ok(status >= 400, `status ${status} is not an error\n${message}`);
    assert.ok(status < 500, `status ${status} is a server error, expected 4xx\n${message}`);
}

/** Describes a flow's responses and the server log, for assertion messages. */
export function describeFlow(stack, flow) {
    const steps = flow.chain.map((res) => `  ${res.method} ${res.url} -> ${res.status}`
        + (res.headers.location ? ` (Location: ${res.headers.location})` : ''));
    return `responses:\n${steps.join('\n')}\nlast body: ${flow.callback.body.slice(0, 300)}\n`
        + `GET /session -> ${flow.session.status} ${flow.session.body.slice(0, 200)}\n`
        + `server log:\n${tail(stack.srv.logs(), 30)}`;
}
