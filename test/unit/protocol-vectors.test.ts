import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BEGIN, END, protocolVectors } from '../../scripts/protocol-vectors.ts';

test('docs/protocol.md holds exactly the vectors the code generates', () => {
  const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
  const i = doc.indexOf(BEGIN);
  const j = doc.indexOf(END);
  assert.ok(i >= 0 && j > i, 'vector markers present');
  const inDoc = doc.slice(i + BEGIN.length, j).trim();
  assert.equal(inDoc, protocolVectors().trim(), 'run `npm run vectors` after changing an encoding, and say so in the commit');
});
