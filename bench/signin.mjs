// Sign-in benchmark pieces, on Node's standard library only.
//
//   node bench/signin.mjs provider PORT CERT KEY
//       An OpenID provider on https://127.0.0.1:PORT for the benchmark. It
//       serves a discovery document and a JWKS for the issuer
//       https://127.0.0.1:PORT and for any issuer below it, such as
//       https://127.0.0.1:PORT/t/7, since idgate gives each issuer to one
//       account only. Its authorization endpoint
//       signs in the user named by the `bench_user` parameter at once. Its
//       token endpoint returns an RS256 ID token with that user's
//       preferred_username, the `bench_sub` parameter as sub (the user's
//       externalId, as Okta's user id is) and the request's nonce. It checks
//       no client secret and no PKCE verifier, because it replaces Okta for
//       load only.
//   node bench/signin.mjs drive BASE_URL ACCOUNT USERS_FILE COUNT PID
//       Runs COUNT initiations alone, then COUNT whole sign-ins one after the
//       other (initiate, authorize, callback) against idgate at BASE_URL.
//       Prints "name value" lines: idgate's CPU milliseconds per initiation
//       and per callback (from /proc/PID/stat) and callbacks per second.
//       USERS_FILE holds "id<TAB>userName" lines of users that bench/synclient
//       created, whose externalId is "ext-" and the userName before "@".
//       Every reply must have its expected status and every callback must
//       set a session cookie, else it exits 1 with the reason.
//       Node must trust the provider's certificate (NODE_EXTRA_CA_CERTS).
import { createSign, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';

const [mode, ...args] = process.argv.slice(2);

function b64url(data) {
    return Buffer.from(data).toString('base64url');
}

function provider(port, certFile, keyFile) {
    const origin = `https://127.0.0.1:${port}`;
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'bench-1', use: 'sig', alg: 'RS256' };
    const codes = new Map(); // code -> { nonce, user, sub, clientId }

    function idToken(issuer, clientId, user, sub, nonce) {
        const now = Math.floor(Date.now() / 1000);
        const header = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: jwk.kid }));
        const claims = b64url(JSON.stringify({
            iss: issuer, sub, aud: clientId, iat: now, exp: now + 300,
            nonce, preferred_username: user,
        }));
        const signer = createSign('RSA-SHA256');
        signer.update(`${header}.${claims}`);
        return `${header}.${claims}.${b64url(signer.sign(privateKey))}`;
    }

    function send(res, status, body, headers = {}) {
        res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers });
        res.end(typeof body === 'string' ? body : JSON.stringify(body));
    }

    const server = https.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (req, res) => {
        const full = new URL(req.url, origin);
        // "/t/N/rest" belongs to the issuer origin + "/t/N".
        const tenant = full.pathname.match(/^\/t\/[^/]+/)?.[0] ?? '';
        const issuer = origin + tenant;
        const url = { pathname: full.pathname.slice(tenant.length), searchParams: full.searchParams };
        if (url.pathname === '/.well-known/openid-configuration') {
            return send(res, 200, {
                issuer, authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token`,
                jwks_uri: `${issuer}/jwks`, response_types_supported: ['code'],
                subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['RS256'],
                token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
            });
        }
        if (url.pathname === '/jwks') return send(res, 200, { keys: [jwk] });
        if (url.pathname === '/authorize') {
            const q = url.searchParams;
            const code = randomBytes(16).toString('hex');
            codes.set(code, {
                nonce: q.get('nonce'), user: q.get('bench_user'),
                sub: q.get('bench_sub') ?? `sub-${q.get('bench_user')}`, clientId: q.get('client_id'),
            });
            const back = new URL(q.get('redirect_uri'));
            back.searchParams.set('code', code);
            back.searchParams.set('state', q.get('state'));
            return send(res, 302, '', { Location: back.toString() });
        }
        if (url.pathname === '/token' && req.method === 'POST') {
            let body = '';
            req.on('data', (d) => { body += d; });
            req.on('end', () => {
                const form = new URLSearchParams(body);
                const grant = codes.get(form.get('code'));
                codes.delete(form.get('code'));
                if (!grant) return send(res, 400, { error: 'invalid_grant' });
                return send(res, 200, {
                    access_token: randomBytes(16).toString('hex'), token_type: 'Bearer', expires_in: 300,
                    id_token: idToken(issuer, grant.clientId, grant.user, grant.sub, grant.nonce),
                });
            });
            return undefined;
        }
        return send(res, 404, { error: 'not_found' });
    });
    server.keepAliveTimeout = 60000;
    server.listen(Number(port), '127.0.0.1', () => console.error(`provider: listening on ${origin}`));
    for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
}

// CPU seconds (user + system) the process has used so far.
function cpuSeconds(pid) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in USER_HZ (100 on Linux)
}

function cookiesOf(res) {
    return res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
}

async function initiate(base, account) {
    const res = await fetch(`${base}/auth/okta?account=${encodeURIComponent(account)}`, { redirect: 'manual' });
    await res.arrayBuffer();
    if (res.status !== 302) throw new Error(`initiation returned ${res.status}`);
    return { location: res.headers.get('location'), cookie: cookiesOf(res) };
}

async function signIn(base, account, user) {
    const start = await initiate(base, account);
    const sub = `ext-${user.name.replace(/@[^@]*$/, '')}`;
    const auth = await fetch(`${start.location}&bench_user=${encodeURIComponent(user.name)}` +
        `&bench_sub=${encodeURIComponent(sub)}`, { redirect: 'manual' });
    await auth.arrayBuffer();
    if (auth.status !== 302) throw new Error(`authorization returned ${auth.status}`);
    const cb = await fetch(auth.headers.get('location'), { redirect: 'manual', headers: { Cookie: start.cookie } });
    const text = await cb.text();
    if (cb.status !== 302 && cb.status !== 303)
        throw new Error(`callback returned ${cb.status}: ${text.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').slice(0, 200)}`);
    if (!/(^|; )(__Host-)?idgate_session=[^;]/.test(cookiesOf(cb)))
        throw new Error(`callback returned ${cb.status} without a session cookie`);
}

async function drive(base, account, usersFile, countText, pid) {
    const count = Number(countText);
    const users = readFileSync(usersFile, 'utf8').split('\n').filter(Boolean)
        .map((l) => ({ name: l.split('\t')[1] }));
    await signIn(base, account, users[0]); // warms the discovery and JWKS caches

    let cpu = cpuSeconds(pid);
    for (let i = 0; i < count; i++) await initiate(base, account);
    const initiateCpu = (cpuSeconds(pid) - cpu) / count;

    cpu = cpuSeconds(pid);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < count; i++) await signIn(base, account, users[i % users.length]);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const flowCpu = (cpuSeconds(pid) - cpu) / count;

    console.log(`initiate_cpu_ms ${(initiateCpu * 1000).toFixed(3)}`);
    console.log(`callback_cpu_ms ${(Math.max(flowCpu - initiateCpu, 0) * 1000).toFixed(3)}`);
    console.log(`flow_cpu_ms ${(flowCpu * 1000).toFixed(3)}`);
    console.log(`callback_rate ${(count / seconds).toFixed(1)}`);
}

if (mode === 'provider' && args.length === 3) {
    provider(...args);
} else if (mode === 'drive' && args.length === 5) {
    drive(...args).catch((err) => {
        console.error(`signin: ${err.message}`);
        process.exit(1);
    });
} else {
    console.error('usage: node bench/signin.mjs provider PORT CERT KEY | drive BASE ACCOUNT USERS COUNT PID');
    process.exit(2);
}
