/**
 * --max-outbound: how many peers a node dials on its own from addresses it
 * learns. Read from the flag, PEERCHAIN_MAX_OUTBOUND or node.json, in that
 * order; absent, the network default applies; a bad value is refused with
 * the name of where it came from.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveNodeSettings } from '../../src/cli/node-config.ts';

describe('--max-outbound', () => {
  let dir: string;
  let genesis: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'peerchain-outbound-cfg-'));
    genesis = join(dir, 'genesis.json');
    writeFileSync(genesis, '{}');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('absent: the network default (undefined here)', () => {
    assert.equal(resolveNodeSettings({ data: dir, genesis }, {}).maxOutbound, undefined);
  });

  test('flag over variable over config file; 0 keeps the node to the peers it is given', () => {
    const cfg = join(dir, 'node.json');
    writeFileSync(cfg, JSON.stringify({ maxOutbound: 5 }));
    try {
      assert.equal(resolveNodeSettings({ data: dir, genesis }, {}).maxOutbound, 5);
      assert.equal(resolveNodeSettings({ data: dir, genesis }, { PEERCHAIN_MAX_OUTBOUND: '3' }).maxOutbound, 3);
      assert.equal(resolveNodeSettings({ data: dir, genesis, maxOutbound: '0' }, { PEERCHAIN_MAX_OUTBOUND: '3' }).maxOutbound, 0);
    } finally {
      rmSync(cfg);
    }
  });

  test('bad values are refused, naming their source', () => {
    assert.throws(() => resolveNodeSettings({ data: dir, genesis, maxOutbound: '-1' }, {}), /--max-outbound/);
    assert.throws(() => resolveNodeSettings({ data: dir, genesis, maxOutbound: 'many' }, {}), /--max-outbound/);
    assert.throws(() => resolveNodeSettings({ data: dir, genesis, maxOutbound: '129' }, {}), /--max-outbound/);
    assert.throws(() => resolveNodeSettings({ data: dir, genesis }, { PEERCHAIN_MAX_OUTBOUND: '2.5' }), /PEERCHAIN_MAX_OUTBOUND/);
  });
});
