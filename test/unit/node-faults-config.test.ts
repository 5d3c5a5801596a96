/**
 * The node settings behind the testnet controls: the hidden --fault-control
 * flag, the faults a launcher hands a restarted node (PEERCHAIN_TESTNET_FAULTS)
 * and the control URL it reports (PEERCHAIN_TESTNET_CONTROL), each refused
 * with the variable's name when malformed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveNodeSettings } from '../../src/cli/node-config.ts';

describe('node settings for the testnet controls', () => {
  let dir: string;
  let genesis: string;
  const id = 'ab'.repeat(32);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'peerchain-faults-cfg-'));
    genesis = join(dir, 'genesis.json');
    writeFileSync(genesis, '{}');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const settings = (faultControl: boolean, env: Record<string, string>) => resolveNodeSettings({ data: dir, genesis, faultControl }, env);

  test('off by default; the faults variable means nothing without the flag', () => {
    const s = settings(false, { PEERCHAIN_TESTNET_FAULTS: JSON.stringify({ block: [id] }) });
    assert.equal(s.faultControl, false);
    assert.equal(s.faults, undefined);
    assert.equal(s.testnetControl, undefined);
  });

  test('with --fault-control the faults are read, missing fields meaning none', () => {
    assert.deepEqual(settings(true, { PEERCHAIN_TESTNET_FAULTS: JSON.stringify({ block: [id], delayMs: 250 }) }).faults, { block: [id], delayMs: 250 });
    assert.deepEqual(settings(true, { PEERCHAIN_TESTNET_FAULTS: '{"delayMs": 5}' }).faults, { block: [], delayMs: 5 });
    assert.equal(settings(true, {}).faults, undefined);
  });

  test('malformed faults are refused naming the variable', () => {
    for (const bad of ['nope', '[]', '{"block": ["xyz"]}', '{"delayMs": -1}', '{"delayMs": 10001}', '{"block": "ab"}']) {
      assert.throws(() => settings(true, { PEERCHAIN_TESTNET_FAULTS: bad }), /PEERCHAIN_TESTNET_FAULTS/, bad);
    }
  });

  test('the control URL is kept without a trailing slash, and must be an http URL', () => {
    assert.equal(settings(false, { PEERCHAIN_TESTNET_CONTROL: 'http://127.0.0.1:3000/' }).testnetControl, 'http://127.0.0.1:3000');
    for (const bad of ['127.0.0.1:3000', 'javascript:alert(1)', 'http://127.0.0.1:3000/control x']) {
      assert.throws(() => settings(false, { PEERCHAIN_TESTNET_CONTROL: bad }), /PEERCHAIN_TESTNET_CONTROL/, bad);
    }
  });
});
