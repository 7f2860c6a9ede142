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
    assert.match(res.headers.get('x-request-id'), /^[0-9a-f]{16}$/);
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
    assert.equal(res.headers.get('allow'), 'GET, HEAD');
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
    assert.match(res2.headers.get('x-request-id'), /^[0-9a-f]{16}$/);
  });

  test('metrics expose requests, latency, in-flight and store counters', async () => {
    await (await srv.fetch('/healthz')).text();
    await (await srv.fetch('/nope')).text();
    const res = await srv.fetch('/metrics');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    assert.match(text, /idgate_http_requests_total\{route="\/healthz",method="GET",status="200"\} \d+/);
    assert.match(text, /idgate_http_requests_total\{route="unmatched",method="GET",status="404"\} \d+/);
    assert.match(text, /idgate_http_request_duration_seconds_bucket\{route="\/healthz",le="\+Inf"\} \d+/);
    assert.match(text, /idgate_http_requests_in_flight 1\n/);
    assert.match(text, /idgate_store_commits_total \d+/);
    assert.match(text, /idgate_store_batch_size_bucket\{le="\+Inf"\} \d+/);
    assert.match(text, /idgate_store_commit_seconds_count \d+/);
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

  test('readyz is 503 once shutdown begins', async () => {
    // An open keep-alive connection can still reach the server after the
    // listener closes; a slow request keeps the server draining meanwhile.
    const sock = net.connect(srv.port, '127.0.0.1');
    let reply = '';
    sock.on('data', (d) => { reply += d; });
    await new Promise((r) => sock.on('connect', r));
    sock.write('GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n');
    while (!reply.includes('ready\n')) await new Promise((r) => setTimeout(r, 10));
    assert.match(reply, /^HTTP\/1\.1 200 /);
    reply = '';
    const slow = srv.fetch('/debug/sleep?ms=800');
    await new Promise((r) => setTimeout(r, 100));
    const exited = srv.signal('SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    sock.write('GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n');
    while (!reply.includes('shutting down\n')) await new Promise((r) => setTimeout(r, 10));
    assert.match(reply, /^HTTP\/1\.1 503 /);
    assert.match(reply, /Connection: close/i);
    assert.equal((await slow).status, 200);
    assert.equal(await exited, 0);
    sock.destroy();
    await srv.restart();
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
