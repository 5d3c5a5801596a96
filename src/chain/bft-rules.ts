import { ERR, fail, ok, type Block, type Genesis, type State } from '../core/index.ts';
import { blockHash } from '../core/index.ts';
import { validatorSetFor } from '../consensus/bft/validators.ts';
import { verifyCommit, type CommitCertificate } from '../consensus/bft/types.ts';
import { headerInContext, type ChainRules } from './rules.ts';

/**
 * BFT rules: every block carries a commit certificate of more than 2/3 of the
 * validators named by its parent's state, blocks are final (never
 * reorganised), and each block adds the same work so the chain is its length.
 */
export function bftRules(genesis: Genesis): ChainRules {
  if (genesis.consensus.type !== 'bft') throw new Error('bftRules: genesis is not BFT');
  return {
    final: true,
    work() {
      return 1n;
    },
    checkHeader(header, parent, index, now) {
      return headerInContext(genesis, header, parent, index, now);
    },
    checkBody() {
      return ok(undefined);
    },
    checkCommit(block: Block, parentState: State) {
      if (block.commit === undefined) return fail(ERR.BAD_COMMIT, 'a BFT block carries its commit certificate');
      const validators = validatorSetFor(parentState, genesis);
      if (!validators.has(block.header.proposer)) return fail(ERR.BAD_PROPOSER, `proposer ${block.header.proposer} is not a validator`);
      const r = verifyCommit(block.commit as unknown as CommitCertificate, validators, genesis.chainId, { height: block.header.height, blockHash: blockHash(block.header) });
      return r.ok ? ok(undefined) : fail(ERR.BAD_COMMIT, `commit certificate: ${r.reason}`);
    },
  };
}
