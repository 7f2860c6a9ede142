// The documented nginx example (contrib/nginx/idgate.conf) protecting an application with
// auth_request against idgate's GET /session: nginx runs from a temporary prefix on
// 127.0.0.1 with the example's ports replaced, and a small upstream echoes the headers it
// receives. Clients that must have distinct addresses connect from other loopback
// addresses (127.0.0.3 and up), which nginx passes on in X-Forwarded-For.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort, repoRoot } from '../integration/lib/idgate.mjs';
import { describeFlow, newAgent, signIn } from './lib/flows.mjs';
import { deactivateUser, provisionUser, sleep, startStack, stopStack, tail } from './lib/stack.mjs';

const NGINX = process.env.NGINX_PATH ?? '/usr/sbin/nginx';
const EXAMPLE = join(repoRoot, 'contrib', 'nginx', 'idgate.conf');
const USER = { sub: 'nginx-sub-1', email: 'nia@acme.test', preferred_username: 'nia@acme.test',
    name: 'Nia Example' };

/** Replaces each example address in the documented config; every one must occur once. */
function renderExample(text, { idgatePort, appPort, nginxPort }) {
    const replacements = [
        ['server 127.0.0.1:8080;', `server 127.0.0.1:${idgatePort};`],
        ['server 127.0.0.1:3000;', `server 127.0.0.1:${appPort};`],
        ['listen 127.0.0.1:8000;', `listen 127.0.0.1:${nginxPort};`],
    ];
    let out = text;
    for (const [from, to] of replacements) {
        const count = out.split(from).length - 1;
        if (count !== 1) {
            throw new Error(`${EXAMPLE} contains "${from}" ${count} times, expected once`);
        }
        out = out.replace(from, to);
    }
    return out;
}

function mainConfig(prefix) {
    return `worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log info;
events { worker_connections 64; }
http {
    access_log ${prefix}/access.log;
    client_body_temp_path ${prefix}/client_body;
    proxy_temp_path ${prefix}/proxy;
    fastcgi_temp_path ${prefix}/fastcgi;
    uwsgi_temp_path ${prefix}/uwsgi;
    scgi_temp_path ${prefix}/scgi;
    include ${prefix}/idgate.conf;
}
`;
}

async function waitForPort(port, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        const open = await new Promise((resolve) => {
            const socket = connect(port, '127.0.0.1');
            socket.once('connect', () => {
                socket.destroy();
                resolve(true);
            });
            socket.once('error', () => resolve(false));
        });
        if (open) {
            return;
        }
        await sleep(50);
    }
    throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

async function startNginx({ idgatePort, appPort, nginxPort }) {
    if (!existsSync(NGINX)) {
        throw new Error(`nginx not found at ${NGINX}: install the Debian package nginx-light`);
    }
    const prefix = mkdtempSync(join(tmpdir(), 'idgate-nginx-'));
    chmodSync(prefix, 0o755);
    writeFileSync(join(prefix, 'idgate.conf'), renderExample(readFileSync(EXAMPLE, 'utf8'),
        { idgatePort, appPort, nginxPort }));
    writeFileSync(join(prefix, 'nginx.conf'), mainConfig(prefix));
    const args = ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e',
        join(prefix, 'error.log')];

    const check = spawnSync(NGINX, [...args, '-t'], { encoding: 'utf8', timeout: 10000 });
    if (check.status !== 0) {
        throw new Error(`nginx -t rejected the rendered example:\n${check.stderr}`);
    }
    const child = spawn(NGINX, [...args, '-g', 'daemon off;'], {
        stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (data) => {
        stderr += data;
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await waitForPort(nginxPort, 5000);
    return {
        prefix,
        errorLog: () => readFileSync(join(prefix, 'error.log'), 'utf8') + stderr,
        async stop() {
            if (child.exitCode === null) {
                child.kill('SIGQUIT');
                const timer = sleep(5000).then(() => 'timeout');
                if (await Promise.race([exited, timer]) === 'timeout') {
                    child.kill('SIGKILL');
                    await exited;
                }
            }
            rmSync(prefix, { recursive: true, force: true });
        },
    };
}

// The protected application: returns the request's method, URL and headers as JSON.
async function startEchoApp() {
    const requests = [];
    const server = createServer((req, res) => {
        requests.push({ url: req.url, headers: req.headers });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ url: req.url, headers: req.headers }));
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
        port: server.address().port,
        requests,
        async stop() {
            server.closeAllConnections();
            await new Promise((resolve) => server.close(resolve));
        },
    };
}

describe('nginx auth_request example', () => {
    let stack;
    let nginx;
    let app;
    let nginxUrl;
    let user;

    before(async () => {
        const nginxPort = await freePort();
        nginxUrl = `http://127.0.0.1:${nginxPort}`;
        app = await startEchoApp();
        stack = await startStack({ provider: 'faulty',
            config: { server: { base_url: nginxUrl } } });
        stack.op.user = { ...USER };
        user = await provisionUser(stack, { userName: USER.email, externalId: USER.sub,
            displayName: USER.name });
        nginx = await startNginx({ idgatePort: stack.srv.port, appPort: app.port, nginxPort });
    });

    after(async () => {
        await nginx?.stop();
        await stopStack(stack);
        await app?.stop();
    });

    function logs() {
        return `nginx log:\n${tail(nginx.errorLog(), 20)}\nidgate log:\n`
            + tail(stack.srv.logs(), 20);
    }

    async function assertSentToSignin(agent, headers = {}) {
        const appRequests = app.requests.length;
        const res = await agent.request(`${nginxUrl}/app/page`, { headers });
        assert.ok(res.status === 302 || res.status === 401, `GET /app/page returned `
            + `${res.status}\n${logs()}`);
        if (res.status === 302) {
            assert.equal(new URL(res.headers.location, nginxUrl).pathname, '/signin');
        }
        assert.equal(app.requests.length, appRequests, 'the application got the request');
    }

    test('signed-out user sent to signin', async () => {
        const agent = newAgent(stack);
        await assertSentToSignin(agent);
        await assertSentToSignin(agent, { 'x-idgate-user': USER.email });

        const signin = await agent.request(`${nginxUrl}/signin`);
        assert.equal(signin.status, 200, `GET /signin through nginx returned ${signin.status}`);
    });

    test('signed-in user reaches app with header', async () => {
        const flow = await signIn(stack, { loginHint: USER.email, target: '/app/page' });
        assert.equal(flow.session.status, 200, `${describeFlow(stack, flow)}\n${logs()}`);

        const res = await flow.agent.request(`${nginxUrl}/app/page?x=1`,
            { headers: { 'x-idgate-user': 'mallory@evil.example' } });
        assert.equal(res.status, 200, `GET /app/page returned ${res.status}\n${logs()}`);
        const seen = JSON.parse(res.body);
        assert.equal(seen.url, '/app/page?x=1');
        assert.equal(seen.headers['x-idgate-user'], USER.email);
        assert.equal(seen.headers['x-idgate-account'], stack.account.id);
        assert.equal(seen.headers['x-idgate-email'], USER.email);
        assert.equal(seen.headers['x-idgate-tier'], 'basic');

        await deactivateUser(stack, user.id);
        await assertSentToSignin(flow.agent);
    });
});

// Sends GET url from the loopback address `from` and returns the status.
function startFrom(url, from, headers = {}) {
    return new Promise((resolve, reject) => {
        const req = httpRequest(url, { localAddress: from, headers, timeout: 5000 }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode));
        });
        req.on('timeout', () => req.destroy(new Error(`GET ${url} from ${from} timed out`)));
        req.on('error', reject);
        req.end();
    });
}

describe('client address through nginx', () => {
    // The documented default of [oidc] login_starts_per_address.
    const DEFAULT_PER_ADDRESS = 60;
    let stack;
    let nginx;
    let app;
    let startUrl;

    before(async () => {
        const nginxPort = await freePort();
        const nginxUrl = `http://127.0.0.1:${nginxPort}`;
        app = await startEchoApp();
        // nginx connects to idgate from 127.0.0.1; the clients use other addresses.
        stack = await startStack({ provider: 'faulty',
            config: { server: { base_url: nginxUrl }, http: { trusted_proxies: '127.0.0.1' } } });
        nginx = await startNginx({ idgatePort: stack.srv.port, appPort: app.port, nginxPort });
        startUrl = `${nginxUrl}/auth/okta?account=${stack.account.id}`;
    });

    after(async () => {
        await nginx?.stop();
        await stopStack(stack);
        await app?.stop();
    });

    function logs() {
        return `nginx log:\n${tail(nginx.errorLog(), 10)}\nidgate log:\n`
            + tail(stack.srv.logs(), 10);
    }

    // Starts `count` sign-ins from `from` and returns their statuses.
    async function startMany(from, count, headersOf = () => ({})) {
        const statuses = [];
        for (let i = 0; i < count; i++) {
            statuses.push(await startFrom(startUrl, from, headersOf(i)));
        }
        return statuses;
    }

    test('default limit applies per client', async () => {
        const first = await startMany('127.0.0.3', DEFAULT_PER_ADDRESS + 1);
        assert.deepEqual(first.slice(0, DEFAULT_PER_ADDRESS),
            Array(DEFAULT_PER_ADDRESS).fill(302), logs());
        assert.equal(first[DEFAULT_PER_ADDRESS], 429, logs());
        assert.match(stack.srv.logs(), /client=127\.0\.0\.3/);

        // Another client behind the same proxy has a limit of its own.
        assert.equal(await startFrom(startUrl, '127.0.0.4'), 302, logs());
    });

    test('spoofed header cannot dodge limit', async () => {
        // Each request claims another address; nginx appends the real one.
        const statuses = await startMany('127.0.0.5', DEFAULT_PER_ADDRESS + 1,
            (i) => ({ 'x-forwarded-for': `198.51.100.${i + 1}` }));
        assert.equal(statuses.filter((status) => status === 302).length, DEFAULT_PER_ADDRESS,
            logs());
        assert.equal(statuses[DEFAULT_PER_ADDRESS], 429, logs());
    });

    test('direct peer header ignored', async () => {
        // A client that reaches idgate without nginx is not a trusted proxy.
        const direct = `${stack.baseUrl}/auth/okta?account=${stack.account.id}`;
        const statuses = [];
        for (let i = 0; i <= DEFAULT_PER_ADDRESS; i++) {
            statuses.push(await startFrom(direct, '127.0.0.6',
                { 'x-forwarded-for': `203.0.113.${i + 1}` }));
        }
        assert.equal(statuses[DEFAULT_PER_ADDRESS], 429, logs());
        assert.match(stack.srv.logs(), /client=127\.0\.0\.6/);
    });
});
