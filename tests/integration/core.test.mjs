// Service core: health, readiness, metrics, routing errors, body limits,
// configuration errors, access logs and graceful shutdown.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';

import { runIdgate, startIdgate } from './lib/idgate.mjs';

// Sends raw bytes and resolves with everything the server sends back before
// it closes the connection or `ms` passes.
function rawRequest(port, text, ms = 3000) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => { sock.destroy(); resolve(data); }, ms);
    sock.on('data', (d) => { data += d; });
    sock.on('error', (err) => { clearTimeout(timer); if (data) resolve(data); else reject(err); });
    sock.on('close', () => { clearTimeout(timer); resolve(data); });
    sock.write(text);
  });
}

// A raw client connection: `data()` is everything received so far,
// `waitFor(pattern)` waits (at most 5 s) until it matches, `closed` resolves
// when the server closes the connection (and rejects after 5 s).
function rawSocket(port) {
  const sock = net.connect(port, '127.0.0.1');
  let data = '';
  sock.on('data', (d) => { data += d.toString('latin1'); });
  sock.on('error', () => {});
  let isClosed = false;
  const closedEvent = new Promise((r) => sock.on('close', () => { isClosed = true; r(); }));
  // Resolves when the server closes the connection; rejects after 5 s.
  const closed = Promise.race([
    closedEvent,
    new Promise((_, reject) => {
      const t = setTimeout(() => {
        if (!isClosed) reject(new Error(`connection still open; received ${JSON.stringify(data)}`));
      }, 5000);
      t.unref();
    }),
  ]);
  closed.catch(() => {});
  const connected = new Promise((r) => sock.on('connect', r));
  return {
    sock,
    connected,
    closed,
    data: () => data,
    async waitFor(pattern, ms = 5000) {
      const deadline = Date.now() + ms;
      const test = (t) => (typeof pattern === 'string' ? t.includes(pattern) : pattern.test(t));
      while (!test(data)) {
        if (Date.now() > deadline) throw new Error(`no ${pattern} in reply: ${JSON.stringify(data)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
  };
}

// Opens a connection, gets one reply on it and then waits `idleMs`, so that
// the connection is kept alive and idle for that long.
async function idleAfterOneRequest(port, idleMs) {
  const c = rawSocket(port);
  await c.connected;
  c.sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  await c.waitFor('ok\n');
  await new Promise((r) => setTimeout(r, idleMs));
  return c;
}

// Sends a 194-byte request head one byte every 100 ms until the server
// closes the connection, and returns the milliseconds that took.
async function sendHeadSlowly(c) {
  const head = `GET /healthz HTTP/1.1\r\nHost: x\r\n${'X-a: b\r\n'.repeat(20)}\r\n`;
  const started = Date.now();
  let i = 0;
  const timer = setInterval(() => { if (i < head.length) c.sock.write(head[i++]); }, 100);
  await c.closed;
  clearInterval(timer);
  return Date.now() - started;
}

// Splits a raw HTTP/1.1 reply into its status, lower-cased headers and body.
function parseReply(text) {
  const end = text.indexOf('\r\n\r\n');
  const lines = text.slice(0, end).split('\r\n');
  const headers = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status: Number(lines[0].split(' ')[1]), headers, body: text.slice(end + 4) };
}

describe('core endpoints', () => {
  let srv;
  before(async () => {
    srv = await startIdgate({ config: { server: { max_body: '4K' } } });
  });
  after(async () => {
    assert.equal(await srv.stop(), 0);
    await srv.cleanup();
  });

  test('healthz returns ok', async () => {
    const res = await srv.fetch('/healthz');
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'ok\n');
    assert.match(res.headers.get('x-request-id'), /^[0-9a-f]{16}-[0-9a-f]+$/);
  });

  test('readyz is ready with a writable store', async () => {
    const res = await srv.fetch('/readyz');
    assert.equal(res.status, 200);
  });

  test('unknown path is 404, not a prefix match', async () => {
    const res = await srv.fetch('/healthzX');
    assert.equal(res.status, 404);
    const res2 = await srv.fetch('/healthz/extra');
    assert.equal(res2.status, 404);
  });

  test('wrong method is 405 with Allow', async () => {
    const res = await srv.fetch('/healthz', { method: 'POST', body: 'x' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET, HEAD, OPTIONS');
    const del = await srv.fetch('/metrics', { method: 'DELETE' });
    assert.equal(del.status, 405);
  });

  test('HEAD answers like GET without a body', async () => {
    const res = await srv.fetch('/healthz', { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-length'), '3');
    assert.equal(await res.text(), '');
  });

  test('OPTIONS lists the allowed methods', async () => {
    const res = await srv.fetch('/readyz', { method: 'OPTIONS' });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('allow'), 'GET, HEAD, OPTIONS');
  });

  test('body over max_body is 413', async () => {
    const res = await srv.fetch('/healthz', { method: 'POST', body: 'x'.repeat(6000) });
    assert.equal(res.status, 413);
    await res.text();
  });

  test('announced body over max_body is 413 before the body is sent', async () => {
    const reply = await rawRequest(
      srv.port,
      'POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n',
    );
    assert.match(reply, /^HTTP\/1\.1 413 /);
    assert.match(reply, /Connection: close/i);
  });

  test('chunked body over max_body is 413', async () => {
    const chunk = 'a'.repeat(3000);
    const size = chunk.length.toString(16);
    const reply = await rawRequest(
      srv.port,
      `POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n` +
        `${size}\r\n${chunk}\r\n${size}\r\n${chunk}\r\n0\r\n\r\n`,
    );
    assert.match(reply, /^HTTP\/1\.1 413 /);
  });

  test('sane incoming X-Request-Id is kept, odd one replaced', async () => {
    const res = await srv.fetch('/healthz', { headers: { 'X-Request-Id': 'abc-123.DEF' } });
    assert.equal(res.headers.get('x-request-id'), 'abc-123.DEF');
    const res2 = await srv.fetch('/healthz', { headers: { 'X-Request-Id': 'a"b<script>' } });
    assert.match(res2.headers.get('x-request-id'), /^[0-9a-f]{16}-[0-9a-f]+$/);
    const res3 = await srv.fetch('/healthz');
    const [prefix2, count2] = res2.headers.get('x-request-id').split('-');
    const [prefix3, count3] = res3.headers.get('x-request-id').split('-');
    assert.equal(prefix3, prefix2);
    assert.ok(parseInt(count3, 16) > parseInt(count2, 16));
  });

  test('metrics expose requests, latency, in-flight and store counters', async () => {
    await (await srv.fetch('/healthz')).text();
    await (await srv.fetch('/nope')).text();
    await (await srv.fetch('/healthz', { method: 'POST' })).text();
    const res = await srv.fetch('/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    assert.match(text, /idgate_http_requests_total\{route="\/healthz",method="GET",status="200"\} \d+/);
    assert.match(text, /idgate_http_requests_total\{route="unmatched",method="GET",status="404"\} \d+/);
    assert.match(text, /idgate_http_requests_total\{route="\/healthz",method="POST",status="405"\} \d+\n/);
    assert.match(text, /idgate_http_request_duration_seconds_bucket\{route="\/healthz",le="\+Inf"\} \d+/);
    assert.match(text, /idgate_http_requests_in_flight 1\n/);
    assert.match(text, /idgate_store_commits_total \d+/);
    assert.match(text, /idgate_store_batch_size_bucket\{le="\+Inf"\} \d+/);
    assert.match(text, /idgate_store_commit_seconds_count \d+/);
    assert.match(text, /idgate_store_syncs_total \d+\n/);
    assert.match(text, /idgate_store_flat_batches_total \d+\n/);
    assert.match(text, /idgate_store_reruns_total \d+\n/);
    assert.match(text, /idgate_store_job_seconds_total \d+\.\d{6}\n/);
  });

  test('access log names request id, method, path and status', async () => {
    const res = await srv.fetch('/healthz?code=secret-code', {
      headers: { 'X-Request-Id': 'log-check-1', Authorization: 'Bearer scim_topsecret' },
    });
    await res.text();
    await srv.waitForLog('request_id=log-check-1');
    const line = srv.logs().split('\n').find((l) => l.includes('request_id=log-check-1'));
    assert.match(line, /level=info/);
    assert.match(line, /method=GET/);
    assert.match(line, /path=\/healthz /);
    assert.match(line, /status=200/);
    assert.match(line, /latency_ms=\d+\.\d+/);
    assert.match(line, /time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/);
    assert.doesNotMatch(srv.logs(), /topsecret|secret-code/);
  });
});

describe('json logs', () => {
  test('each line is a JSON object with the access fields', async () => {
    const srv = await startIdgate({ config: { log: { format: 'json' } } });
    try {
      const res = await srv.fetch('/readyz', {
        headers: { 'X-Request-Id': 'json-1', Authorization: 'Bearer scim_hidden' },
      });
      await res.text();
      await srv.waitForLog('json-1');
    } finally {
      assert.equal(await srv.stop(), 0);
    }
    const lines = srv.logs().trim().split('\n');
    for (const l of lines) assert.doesNotThrow(() => JSON.parse(l), l);
    const entry = srv.jsonLogs().find((e) => e.request_id === 'json-1');
    assert.equal(entry.method, 'GET');
    assert.equal(entry.path, '/readyz');
    assert.equal(entry.status, '200');
    assert.equal(entry.level, 'info');
    assert.equal(entry.msg, 'request');
    assert.match(entry.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.doesNotMatch(srv.logs(), /scim_hidden/);
    await srv.cleanup();
  });
});

describe('configuration errors', () => {
  test('invalid port stops start-up naming the key', async () => {
    const out = await runIdgate(['serve'], { config: { server: { port: '99999' } } });
    assert.equal(out.code, 1);
    assert.match(out.stderr, /\[server\] port/);
    assert.match(out.stderr, /99999/);
    assert.match(out.stderr, /1 to 65535/);
  });

  test('bad log format names the allowed values', async () => {
    const out = await runIdgate(['serve'], { config: { log: { format: 'xml' } } });
    assert.equal(out.code, 1);
    assert.match(out.stderr, /\[log\] format/);
    assert.match(out.stderr, /logfmt, json/);
  });

  test('environment override is validated and named', async () => {
    const out = await runIdgate(['serve'], { env: { IDGATE_SERVER_MAX_BODY: 'lots' } });
    assert.equal(out.code, 1);
    assert.match(out.stderr, /IDGATE_SERVER_MAX_BODY/);
    assert.match(out.stderr, /\[server\] max_body/);
  });

  test('environment override wins over the file', async () => {
    const srv = await startIdgate({ config: { log: { format: 'logfmt' } }, env: { IDGATE_LOG_FORMAT: 'json' } });
    await (await srv.fetch('/healthz')).text();
    assert.equal(await srv.stop(), 0);
    assert.ok(srv.jsonLogs().length > 0, srv.logs());
    await srv.cleanup();
  });

  test('missing configuration file is an error', async () => {
    const out = await runIdgate(['serve', '--config', '/nonexistent/idgate.ini']);
    assert.equal(out.code, 1);
    assert.match(out.stderr, /\/nonexistent\/idgate\.ini/);
  });

  test('unknown key is a warning, not an error', async () => {
    const srv = await startIdgate({ config: { server: { colour: 'blue' } } });
    assert.match(srv.logs(), /unknown configuration key/);
    assert.match(srv.logs(), /key=colour/);
    assert.equal(await srv.stop(), 0);
    await srv.cleanup();
  });
});

describe('command line', () => {
  test('version and help', async () => {
    const v = await runIdgate(['version']);
    assert.equal(v.code, 0);
    assert.match(v.stdout, /^idgate \d+\.\d+\.\d+/);
    const h = await runIdgate(['help']);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /serve/);
    const bad = await runIdgate(['frobnicate']);
    assert.equal(bad.code, 2);
  });
});

describe('shutdown', () => {
  test('SIGTERM exits 0 and logs the stop', async () => {
    const srv = await startIdgate();
    assert.equal(await srv.stop(), 0);
    assert.match(srv.logs(), /shutting down/);
    assert.match(srv.logs(), /msg=stopped/);
    await srv.cleanup();
  });

  test('SIGTERM waits for a request still receiving its body', async () => {
    const srv = await startIdgate();
    // A request whose body arrives slowly is in flight when SIGTERM lands;
    // the server must finish it before exiting.
    const sock = net.connect(srv.port, '127.0.0.1');
    let reply = '';
    sock.on('data', (d) => { reply += d; });
    await new Promise((r) => sock.on('connect', r));
    sock.write('POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab');
    await new Promise((r) => setTimeout(r, 200));
    const exited = srv.stop();
    await new Promise((r) => setTimeout(r, 300));
    sock.write('cd');
    assert.equal(await exited, 0);
    await new Promise((r) => setTimeout(r, 50));
    assert.match(reply, /^HTTP\/1\.1 405 /);
    sock.destroy();
    await srv.cleanup();
  });
});

describe('requests held across asynchronous work', () => {
  let srv;
  before(async () => {
    srv = await startIdgate({ config: { server: { debug_routes: 'true', request_timeout: '2s' } } });
  });
  after(async () => {
    if (srv.child.exitCode === null) assert.equal(await srv.stop(), 0);
    await srv.cleanup();
  });

  test('delayed reply arrives', async () => {
    const res = await srv.fetch('/debug/sleep?ms=100');
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'slept\n');
  });

  test('header value with CR LF is dropped', async () => {
    const ok = await srv.fetch('/debug/sleep?ms=0&echo=plain');
    assert.equal(ok.headers.get('x-debug-echo'), 'plain');
    const res = await srv.fetch('/debug/sleep?ms=0&echo=a%0D%0AX-Injected:%201');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-injected'), null);
    assert.equal(res.headers.get('x-debug-echo'), null);
    await srv.waitForLog(/response header dropped/);
  });

  test('client disconnect while a handler waits is survived', async () => {
    for (let i = 0; i < 20; i++) {
      const ctl = new AbortController();
      const pending = srv.fetch('/debug/sleep?ms=200', { signal: ctl.signal }).catch((e) => e);
      await new Promise((r) => setTimeout(r, 20));
      ctl.abort();
      await pending;
    }
    // The aborted requests finish their timers after the clients left.
    await new Promise((r) => setTimeout(r, 400));
    const res = await srv.fetch('/healthz');
    assert.equal(res.status, 200);
    await srv.waitForLog('status=499');
    const metrics = await (await srv.fetch('/metrics')).text();
    assert.match(metrics, /idgate_http_requests_in_flight 1\n/);
  });

  test('request_timeout answers 503 and the late reply is dropped', async () => {
    const started = Date.now();
    const res = await srv.fetch('/debug/sleep?ms=3000');
    assert.equal(res.status, 503);
    await res.text();
    assert.ok(Date.now() - started < 2900, 'timeout reply came after the handler finished');
  });

  test('slow request after quick one', async () => {
    // Requests reuse pooled state whose timer may still be pending from the
    // quick request; the slow one must still get its own two seconds.
    const quick = await srv.fetch('/debug/sleep?ms=1');
    assert.equal(quick.status, 200);
    await quick.text();
    await new Promise((r) => setTimeout(r, 1000));
    const started = Date.now();
    const res = await srv.fetch('/debug/sleep?ms=3000');
    assert.equal(res.status, 503);
    await res.text();
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 1900, `503 after ${elapsed} ms`);
    assert.ok(elapsed < 2900, `503 after ${elapsed} ms`);
  });

  test('shutdown closes idle, rejects new requests', async () => {
    // A slow request keeps the server draining. A keep-alive connection that
    // is idle at SIGTERM is closed; one whose request head is still arriving
    // gets 503 with Connection: close once the head is complete.
    const idle = rawSocket(srv.port);
    const partial = rawSocket(srv.port);
    await idle.connected;
    await partial.connected;
    idle.sock.write('GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n');
    await idle.waitFor('ready\n');
    assert.match(idle.data(), /^HTTP\/1\.1 200 /);
    const slow = srv.fetch('/debug/sleep?ms=800');
    await new Promise((r) => setTimeout(r, 100));
    partial.sock.write('GET /readyz HTTP/1.1\r\nHost: x\r\n');
    await new Promise((r) => setTimeout(r, 50));
    const exited = srv.signal('SIGTERM');
    await idle.closed;
    await new Promise((r) => setTimeout(r, 100));
    partial.sock.write('\r\n');
    await partial.waitFor('shutting down.\n');
    assert.match(partial.data(), /^HTTP\/1\.1 503 /);
    assert.match(partial.data(), /Connection: close/i);
    await partial.closed;
    assert.equal((await slow).status, 200);
    assert.equal(await exited, 0);
    await srv.restart();
  });

  test('committing request outlives request_timeout', async () => {
    // Once a handler has submitted its durable work, the reply waits for
    // the work even past request_timeout (2 s here).
    const started = Date.now();
    const res = await srv.fetch('/debug/sleep?ms=2600&commit=1');
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'slept\n');
    assert.ok(Date.now() - started >= 2500);
  });

  test('pipelined requests answered in order', async () => {
    const c = rawSocket(srv.port);
    await c.connected;
    c.sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(2));
    await c.waitFor(/(HTTP\/1\.1 200[^]*){2}/);
    c.sock.write('GET /debug/sleep?ms=300 HTTP/1.1\r\nHost: x\r\n\r\n' +
      'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' +
      'GET /nope HTTP/1.1\r\nHost: x\r\n\r\n');
    await c.waitFor(/404 Not Found[^]*No resource/);
    const statuses = [...c.data().matchAll(/^HTTP\/1\.1 (\d+)/gm)].map((m) => m[1]);
    assert.deepEqual(statuses, ['200', '200', '200', '200', '404']);
    assert.ok(c.data().indexOf('slept\n') < c.data().lastIndexOf('ok\n'));
    c.sock.destroy();
    assert.doesNotMatch(srv.logs(), /ODDITY/);
  });

  test('pipelined head whose empty line comes later is answered at once', async () => {
    const c = rawSocket(srv.port);
    await c.connected;
    c.sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n');
    await c.waitFor(/HTTP\/1\.1 200/);
    await new Promise((r) => setTimeout(r, 50));
    c.sock.write('\r\n');
    await c.waitFor(/(HTTP\/1\.1 200[^]*){2}/, 2000);
    c.sock.destroy();
  });

  test('SIGTERM lets a waiting handler reply before exit', async () => {
    const pending = srv.fetch('/debug/sleep?ms=700');
    await new Promise((r) => setTimeout(r, 150));
    const exited = srv.stop();
    const res = await pending;
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'slept\n');
    assert.equal(await exited, 0);
  });
});

describe('request heads', () => {
  let srv;
  before(async () => {
    srv = await startIdgate({ config: { server: { request_timeout: '1s' } } });
  });
  after(async () => {
    assert.equal(await srv.stop(), 0);
    await srv.cleanup();
  });

  const heads = [
    ['request line over 8000 bytes', `GET /${'a'.repeat(9000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 414],
    ['header line over 8000 bytes', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(9000)}\r\n\r\n`, 431],
    ['head over 64 KiB', `GET /healthz HTTP/1.1\r\nHost: x\r\n${'X-Many: 0123456789\r\n'.repeat(4000)}\r\n`, 431],
    ['Content-Length too large', 'POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n', 400],
    ['negative Content-Length', 'POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n', 400],
    ['NUL byte in a header value', 'GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\0junk\r\n\r\n', 400],
    ['NUL byte in the request line', 'GET /heal\0thz HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ['not HTTP at all', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n', 400],
  ];
  for (const [name, head, status] of heads) {
    test(`${name}: ${status}, logged, closed`, async () => {
      const before = (srv.logs().match(new RegExp(`status=${status}`, 'g')) || []).length;
      const c = rawSocket(srv.port);
      await c.connected;
      c.sock.write(Buffer.from(head, 'latin1'));
      await c.closed;
      const reply = parseReply(c.data());
      assert.equal(reply.status, status, c.data());
      assert.equal(reply.headers.connection, 'close');
      assert.match(reply.headers['x-request-id'], /^[0-9a-f]{16}-[0-9a-f]+$/);
      await srv.waitForLog(new RegExp(`(status=${status}[^]*){${before + 1}}`));
    });
  }

  // RFC 9112 lets a server ignore empty lines before a request line.
  for (const [name, writes] of [
    ['one CRLF', ['\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n']],
    ['one LF', ['\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n']],
    ['CRLFs in their own writes', ['\r\n', '\r\n', 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n']],
  ]) {
    test(`empty lines before the request line are ignored: ${name}`, async () => {
      const c = rawSocket(srv.port);
      await c.connected;
      for (const w of writes) {
        c.sock.write(w);
        await new Promise((r) => setTimeout(r, 20));
      }
      await c.closed;
      assert.equal(parseReply(c.data()).status, 200, c.data());
    });
  }

  test('only empty lines time out with 408', async () => {
    const c = rawSocket(srv.port);
    await c.connected;
    const started = Date.now();
    const timer = setInterval(() => c.sock.write('\r\n'), 100);
    await c.closed;
    clearInterval(timer);
    assert.equal(parseReply(c.data()).status, 408, c.data());
    assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
  });

  test('pipelined head over the limits gets 431 after the reply before it', async () => {
    const c = rawSocket(srv.port);
    await c.connected;
    c.sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n' +
      `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(8100)}\r\n\r\n`);
    await c.closed;
    const statuses = [...c.data().matchAll(/^HTTP\/1\.1 (\d+)/gm)].map((m) => m[1]);
    assert.deepEqual(statuses, ['200', '431']);
  });

  test('head sent a byte at a time gets the same reply', async () => {
    const head = 'GET /healthz?probe=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';
    const c = rawSocket(srv.port);
    await c.connected;
    for (const byte of Buffer.from(head, 'latin1')) {
      c.sock.write(Buffer.from([byte]));
      await new Promise((r) => setTimeout(r, 2));
    }
    await c.closed;
    const reply = parseReply(c.data());
    assert.equal(reply.status, 200, c.data());
    await srv.waitForLog(/path=\/healthz /);
  });

  // A browser whose Cookie line is too long can reach no page that would
  // expire its sign-in transaction cookies, so the 431 reply expires them.
  test('431 for a long Cookie line expires the sign-in cookies', async () => {
    const cookies = Array.from({ length: 6 }, (_, i) => `idgate_tx_${i}=${'v'.repeat(1400)}`);
    const c = rawSocket(srv.port);
    await c.connected;
    c.sock.write(`GET /auth/okta HTTP/1.1\r\nHost: x\r\nCookie: app=1; ${cookies.join('; ')}\r\n\r\n`);
    await c.closed;
    assert.match(c.data(), /^HTTP\/1\.1 431 /);
    const expired = [...c.data().matchAll(/^Set-Cookie: (?:__Host-)?(idgate_tx_\d)=; Path=\/; Max-Age=0;/gm)]
      .map((m) => m[1]);
    assert.deepEqual(expired, cookies.map((p) => p.split('=')[0]));
  });

  test('slow head times out with 408', async () => {
    const c = rawSocket(srv.port);
    await c.connected;
    const elapsed = await sendHeadSlowly(c);
    assert.ok(elapsed < 2500, `closed after ${elapsed} ms`);
    assert.equal(parseReply(c.data()).status, 408);
    await srv.waitForLog('status=408');
  });

  test('slow second head gets its own time', async () => {
    // The head timer armed for the first head fires while the second head
    // arrives, which starts 600 ms later. The 408 must still wait for the
    // second head's full second.
    const c = await idleAfterOneRequest(srv.port, 600);
    const elapsed = await sendHeadSlowly(c);
    assert.ok(elapsed >= 900, `closed after ${elapsed} ms`);
    assert.ok(elapsed < 2500, `closed after ${elapsed} ms`);
    assert.match(c.data(), /HTTP\/1\.1 408/);
  });

  test('idle keep-alive outlasts request_timeout', async () => {
    const c = await idleAfterOneRequest(srv.port, 1300);
    c.sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await c.waitFor(/ok\n[^]*ok\n/);
    c.sock.destroy();
  });

  test('204 and 304 carry no body headers', async () => {
    const c = rawSocket(srv.port);
    await c.connected;
    c.sock.write('OPTIONS /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await c.waitFor(/ok\n$/);
    const first = c.data().slice(0, c.data().indexOf('HTTP/1.1 200'));
    const reply = parseReply(first);
    assert.equal(reply.status, 204);
    assert.equal(reply.headers['content-type'], undefined);
    assert.equal(reply.headers['content-length'], undefined);
    assert.equal(reply.body, '');
    c.sock.destroy();

    const acc = await srv.createAccount('Etag Co');
    const key = await srv.createScimKey(acc.id);
    const auth = { Authorization: `Bearer ${key.token}` };
    const created = await srv.fetch('/scim/v2/Users', {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/scim+json' },
      body: JSON.stringify({ userName: 'etag@example.com' }),
    });
    assert.equal(created.status, 201);
    const user = await created.json();
    const etag = created.headers.get('etag');
    const g = rawSocket(srv.port);
    await g.connected;
    g.sock.write(`GET /scim/v2/Users/${user.id} HTTP/1.1\r\nHost: x\r\n` +
      `Authorization: Bearer ${key.token}\r\nIf-None-Match: ${etag}\r\n\r\n`);
    await g.waitFor('\r\n\r\n');
    await new Promise((r) => setTimeout(r, 100));
    const notModified = parseReply(g.data());
    assert.equal(notModified.status, 304);
    assert.equal(notModified.headers['content-type'], undefined);
    assert.equal(notModified.headers['content-length'], undefined);
    assert.equal(notModified.body, '');
    g.sock.destroy();
  });
});

describe('idle_timeout equal to request_timeout', () => {
  let srv;
  before(async () => {
    srv = await startIdgate({ config: { server: { request_timeout: '1s', idle_timeout: '1s' } } });
  });
  after(async () => {
    assert.equal(await srv.stop(), 0);
    await srv.cleanup();
  });

  // The connection's idle timeout counts from the last read and the request
  // timer from the end of the head, here the same moment, so with equal
  // settings the idle timeout must not win the race and close without the
  // 408.
  test('body that stops arriving gets 408', async () => {
    const c = rawSocket(srv.port);
    await c.connected;
    c.sock.write('POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc');
    await c.closed;
    assert.equal(parseReply(c.data()).status, 408, c.data());
  });
});

describe('json access log with invalid UTF-8 in the path', () => {
  test('every line stays valid JSON', async () => {
    const srv = await startIdgate({ config: { log: { format: 'json' } } });
    try {
      for (const [id, path] of [['utf8-1', '/scim/v2/Users/%FF'], ['utf8-2', '/x\xff\xc3(']]) {
        const c = rawSocket(srv.port);
        await c.connected;
        c.sock.write(Buffer.from(`GET ${path} HTTP/1.1\r\nHost: x\r\nX-Request-Id: ${id}\r\n\r\n`, 'latin1'));
        await srv.waitForLog(id);
        c.sock.destroy();
      }
    } finally {
      assert.equal(await srv.stop(), 0);
    }
    const raw = srv.logs();
    for (const line of raw.trim().split('\n')) {
      assert.doesNotThrow(() => JSON.parse(line), line);
      assert.ok(Buffer.from(line, 'utf8').toString('utf8') === line);
    }
    const entry = srv.jsonLogs().find((e) => e.request_id === 'utf8-1');
    assert.equal(entry.path, '/scim/v2/Users/%FF');
    await srv.cleanup();
  });
});

describe('shutdown during a write burst', () => {
  test('burst writes all get real replies', async () => {
    // The clients keep sending on their keep-alive connections until the
    // server has gone; the drain must not let them keep it busy.
    const srv = await startIdgate({ config: { server: { shutdown_timeout: '3s' } } });
    const acc = await srv.createAccount('Burst Co');
    const key = await srv.createScimKey(acc.id);
    const headers = { Authorization: `Bearer ${key.token}`, 'Content-Type': 'application/scim+json' };
    const statuses = {};
    let created = 0;
    let n = 0;
    const stopAt = Date.now() + 8000;
    async function worker() {
      while (Date.now() < stopAt && n < 4000 && srv.child.exitCode === null) {
        const i = n++;
        try {
          const res = await fetch(srv.url('/scim/v2/Users'), {
            method: 'POST',
            headers,
            body: JSON.stringify({ userName: `burst-${i}@example.com` }),
          });
          await res.arrayBuffer();
          statuses[res.status] = (statuses[res.status] || 0) + 1;
          if (res.status === 201) created++;
        } catch {
          statuses.refused = (statuses.refused || 0) + 1;
          if (srv.child.exitCode !== null) return;
          await new Promise((r) => setTimeout(r, 5));
        }
      }
    }
    const workers = Array.from({ length: 16 }, worker);
    await new Promise((r) => setTimeout(r, 500));
    const exited = srv.stop();
    await Promise.all(workers);
    assert.equal(await exited, 0, srv.logs().slice(-3000));
    for (const status of Object.keys(statuses)) {
      assert.ok(['201', '503', 'refused'].includes(status), JSON.stringify(statuses));
    }
    assert.ok(created > 0, JSON.stringify(statuses));
    const stopped = srv.logs().indexOf('msg=stopped');
    assert.doesNotMatch(srv.logs().slice(stopped), /msg=request /);
    assert.doesNotMatch(srv.logs(), /status=499|shutdown timeout reached|AddressSanitizer|runtime error/);
    await srv.restart();
    const list = await srv.fetch('/scim/v2/Users?count=0', { headers });
    assert.equal((await list.json()).totalResults, created, JSON.stringify(statuses));
    assert.equal(await srv.stop(), 0);
    await srv.cleanup();
  });
});

describe('replies the socket does not take at once', () => {
  let srv;
  let headers;
  before(async () => {
    srv = await startIdgate({ config: { server: { max_body: '16M' } } });
    const acc = await srv.createAccount('Large');
    const key = await srv.createScimKey(acc.id);
    headers = { Authorization: `Bearer ${key.token}`, 'Content-Type': 'application/scim+json' };
  });
  after(async () => {
    assert.equal(await srv.stop(), 0);
    await srv.cleanup();
  });

  // A reply of 12 MB is more than the socket buffers hold while the client
  // does not read, so most of it waits in the connection's output, and the
  // reply to the pipelined request behind it must follow it.
  test('a large reply arrives whole before the next pipelined reply', async () => {
    const nickName = 'n'.repeat(12 * 1024 * 1024);
    const res = await srv.fetch('/scim/v2/Users', {
      method: 'POST',
      headers,
      body: JSON.stringify({ userName: 'large@example.com', nickName }),
    });
    assert.equal(res.status, 201);
    const { id } = await res.json();

    const sock = net.connect(srv.port, '127.0.0.1');
    await new Promise((r) => sock.on('connect', r));
    const chunks = [];
    sock.pause();
    sock.on('data', (d) => chunks.push(d));
    sock.write(`GET /scim/v2/Users/${id} HTTP/1.1\r\nHost: x\r\nAuthorization: ${headers.Authorization}\r\n\r\n` +
      'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((r) => setTimeout(r, 500));
    sock.resume();
    const text = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('replies did not arrive in 10 s')), 10000);
      const check = () => {
        const t = Buffer.concat(chunks).toString('latin1');
        if (/\r\n\r\nok\n$/.test(t)) {
          clearTimeout(timer);
          resolve(t);
        } else {
          setTimeout(check, 20);
        }
      };
      check();
    });
    sock.destroy();
    const first = parseReply(text);
    assert.equal(first.status, 200);
    const length = Number(first.headers['content-length']);
    const body = first.body.slice(0, length);
    assert.equal(JSON.parse(body).nickName.length, nickName.length);
    const second = parseReply(first.body.slice(length));
    assert.equal(second.status, 200);
    assert.equal(second.body, 'ok\n');
  });
});
