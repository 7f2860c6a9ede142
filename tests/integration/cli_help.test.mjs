// Command-line help at each level: the whole list grouped by noun, one
// noun's verbs, and one verb's options. A help request exits 0 and prints
// to stdout; a missing or unknown noun or verb exits 2.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { runProcess } from './lib/idgate.mjs';

const USAGE = 'usage: idgate <noun> <verb> [--flags] [--config FILE]';

// The noun of each "  noun verb ..." command line of the full help, in order.
function nounsInOrder(text) {
  return text
    .split('\n')
    .filter((line) => /^ {2}[a-z-]+ [a-z-]+/.test(line))
    .map((line) => line.trim().split(' ')[0])
    .filter((noun) => !['serve', 'version', 'help'].includes(noun));
}

describe('command-line help', () => {
  for (const args of [['help'], ['--help'], ['-h']]) {
    test(`${args[0]} prints grouped help`, async () => {
      const out = await runProcess(args);
      assert.equal(out.code, 0, out.stderr);
      assert.ok(out.stdout.startsWith(USAGE + '\n'), out.stdout);
      const nouns = nounsInOrder(out.stdout);
      assert.ok(nouns.length > 10, out.stdout);
      const grouped = nouns.filter((noun, i) => i === 0 || nouns[i - 1] !== noun);
      assert.deepEqual(grouped, [...new Set(nouns)], 'each noun appears in one block');
      assert.ok(out.stdout.includes('  idp set --account ID'), 'idp set is listed');
      assert.ok(!/ \n/.test(out.stdout), 'no line ends with a space');
    });
  }

  test('no arguments is a usage error', async () => {
    const out = await runProcess([]);
    assert.equal(out.code, 2);
    assert.ok(out.stderr.startsWith(USAGE), out.stderr);
  });

  for (const args of [['account', '--help'], ['account', '-h'], ['account', 'help'],
    ['help', 'account']]) {
    test(`${args.join(' ')} lists account verbs`, async () => {
      const out = await runProcess(args);
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stdout, /^usage: idgate account <verb> \[--flags\] \[--config FILE\]\n/);
      for (const verb of ['create', 'list', 'get', 'rename', 'delete', 'settings']) {
        assert.ok(out.stdout.includes(`\n  account ${verb}`), `${verb} missing: ${out.stdout}`);
      }
      assert.ok(out.stdout.includes('Creates an account'), 'descriptions are printed');
      assert.ok(!out.stdout.includes('scim-key'), 'other nouns are left out');
    });
  }

  test('noun without verb lists verbs', async () => {
    const out = await runProcess(['account']);
    assert.equal(out.code, 2);
    assert.match(out.stderr, /^idgate account: missing verb/);
    assert.ok(out.stderr.includes('\n  account create --name NAME'), out.stderr);
  });

  test('unknown verb names the verbs', async () => {
    const out = await runProcess(['account', 'crate']);
    assert.equal(out.code, 2);
    assert.match(out.stderr, /^idgate account: unknown verb "crate"/);
    assert.match(out.stderr, /create/);
  });

  for (const flag of ['--help', '-h']) {
    test(`verb ${flag} prints its usage`, async () => {
      const out = await runProcess(['account', 'create', flag]);
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stdout, /^usage: idgate account create --name NAME \[--domain DOMAIN\]\n/);
      assert.ok(out.stdout.includes('Creates an account'), out.stdout);
    });
  }

  test('verb help ignores other options', async () => {
    const out = await runProcess(['scim-key', 'list', '--account', 'x', '--help']);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /^usage: idgate scim-key list --account ID\n/);
  });

  test('unknown noun in help is a usage error', async () => {
    const out = await runProcess(['help', 'acount']);
    assert.equal(out.code, 2);
    assert.match(out.stderr, /unknown command "acount"/);
  });

  test('serve --help prints its usage', async () => {
    const out = await runProcess(['serve', '--help']);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /^usage: idgate serve \[--config FILE\]\n/);
  });
});
