// Command-line options: an option that a command does not take is a usage
// error (exit code 2), so a misspelt flag is not silently ignored.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { startIdgate } from './lib/idgate.mjs';

describe('command-line options', () => {
  let srv;
  let acc;
  before(async () => {
    srv = await startIdgate();
    acc = await srv.createAccount('Flags');
  });
  after(async () => {
    assert.equal(await srv.stop(), 0);
    await srv.cleanup();
  });

  test('misspelt option rejects account create', async () => {
    const listed = await srv.cliJson(['account', 'list']);
    const out = await srv.cli(['account', 'create', '--name', 'Acme', '--domian', 'acme.com']);
    assert.equal(out.code, 2);
    assert.equal(out.stdout, '');
    assert.match(out.stderr, /^idgate account create: unknown option --domian; /);
    assert.match(out.stderr, /usage: idgate account create --name NAME \[--domain DOMAIN\]\n$/);
    assert.equal(out.stderr.trim().split('\n').length, 1, out.stderr);
    const afterList = await srv.cliJson(['account', 'list']);
    assert.equal(afterList.length, listed.length, 'no account may be created');
  });

  test('unknown options on list verbs', async () => {
    const cases = [
      ['user', 'list', '--account', acc.id, '--limt', '1'],
      ['scim-key', 'list', '--account', acc.id, '--bogus', 'x'],
      ['account', 'list', '--all'],
      ['account', 'get', '--account=' + acc.id, '--verbose'],
    ];
    for (const args of cases) {
      const out = await srv.cli(args);
      const flag = args.find((a) => ['--limt', '--bogus', '--all', '--verbose'].includes(a));
      assert.equal(out.code, 2, `${args.join(' ')}: ${out.stdout}`);
      assert.ok(out.stderr.includes(`unknown option ${flag}`), out.stderr);
    }
  });

  test('account list without options names none', async () => {
    const out = await srv.cli(['account', 'list', '--all']);
    assert.match(out.stderr, /idgate account list takes no options/);
  });

  test('stray argument is a usage error', async () => {
    const out = await srv.cli(['scim-key', 'list', acc.id]);
    assert.equal(out.code, 2);
    assert.match(out.stderr, new RegExp(`unexpected argument "${acc.id}"`));
  });

  test('option without its value is a usage error', async () => {
    const out = await srv.cli(['scim-key', 'list', '--account']);
    assert.equal(out.code, 2);
    assert.match(out.stderr, /option --account needs a value/);
  });

  test('switch given a value is a usage error', async () => {
    const out = await srv.cli(['idp', 'set', '--account', acc.id, '--issuer', 'https://x.okta.com',
      '--client-id', 'c', '--no-check=yes']);
    assert.equal(out.code, 2);
    assert.match(out.stderr, /option --no-check takes no value/);
  });

  test('missing required option is named', async () => {
    const cases = [
      [['account', 'create'], '--name'],
      [['scim-key', 'revoke', '--account', acc.id], '--key'],
      [['directory-group', 'add', '--account', acc.id, '--name', 'Sales'], '--tier'],
    ];
    for (const [args, flag] of cases) {
      const out = await srv.cli(args);
      assert.equal(out.code, 2, `${args.join(' ')}: ${out.stdout}`);
      assert.ok(out.stderr.startsWith(`idgate ${args[0]} ${args[1]}: missing option ${flag}; usage: `),
        out.stderr);
    }
  });

  test('known options in both forms still work', async () => {
    const out = await srv.cli(['user', 'list', '--account=' + acc.id, '--limit', '1']);
    assert.equal(out.code, 0, out.stderr);
    const keys = await srv.cli(['scim-key', 'list', '--account', acc.id]);
    assert.equal(keys.code, 0, keys.stderr);
    assert.deepEqual(keys.json, []);
  });
});
