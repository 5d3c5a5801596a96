/**
 * Base ports of the tests that start testnets of real node processes. Test
 * files run two at a time, so their ranges must not overlap: a testnet with
 * base P uses P+i (ws), P+100+i (tcp) and P+200+i (API) for its nodes i, and
 * P+199 for its control server when it serves one on the default port.
 */
export const PORTS = {
  publicNetwork: 16100,
  publicPartition: 16200,
  explorer: 16500,
  bftPrivate: 18000,
  bftByzantine: 18010,
  bftConsortium: 18020,
  bftPartition: 18030,
  bftGovernance: 18040,
  explorerBft: 18060,
  /** A fork and its reorganisation made through the testnet control server (on 19199). */
  publicFork: 19000,
  /** The explorer's testnet controls in a browser (control server on 19499). */
  explorerControls: 19300,
  /** The peer graph's links, from the launcher and from P2P peer lists, in a browser (control server on 19799). */
  explorerLinks: 19600,
} as const;
