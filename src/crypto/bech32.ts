/**
 * Bech32m (BIP-350): a checksummed base32 encoding that detects any error in up
 * to four characters, so a mistyped address is rejected instead of burning
 * funds.
 */

const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const BECH32M_CONST = 0x2bc830a3;
const GEN = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function polymod(values: number[]): number {
  let chk = 1;
  for (const v of values) {
    const b = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((b >>> i) & 1) chk ^= GEN[i] as number;
  }
  return chk >>> 0;
}

function hrpExpand(hrp: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < hrp.length; i++) out.push(hrp.charCodeAt(i) >> 5);
  out.push(0);
  for (let i = 0; i < hrp.length; i++) out.push(hrp.charCodeAt(i) & 31);
  return out;
}

/** Regroups bits: 8-bit bytes to 5-bit words and back. Undefined on bad padding. */
export function convertBits(data: ArrayLike<number>, from: number, to: number, pad: boolean): number[] | undefined {
  let acc = 0;
  let bits = 0;
  const out: number[] = [];
  const maxv = (1 << to) - 1;
  for (let i = 0; i < data.length; i++) {
    const value = data[i] as number;
    if (value < 0 || value >> from !== 0) return undefined;
    acc = (acc << from) | value;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push((acc >> bits) & maxv);
    }
  }
  if (pad) {
    if (bits > 0) out.push((acc << (to - bits)) & maxv);
  } else if (bits >= from || ((acc << (to - bits)) & maxv) !== 0) {
    return undefined;
  }
  return out;
}

/** Encodes 5-bit words under a human-readable part. */
export function bech32mEncode(hrp: string, words: number[]): string {
  const values = hrpExpand(hrp).concat(words, [0, 0, 0, 0, 0, 0]);
  const mod = polymod(values) ^ BECH32M_CONST;
  let out = hrp + '1';
  for (const w of words) out += CHARSET[w];
  for (let i = 0; i < 6; i++) out += CHARSET[(mod >>> (5 * (5 - i))) & 31];
  return out;
}

/** Result of decoding: the parts, or why the string is not valid bech32m. */
export type Bech32mDecoded = { ok: true; hrp: string; words: number[] } | { ok: false; reason: string };

/** Decodes and checks a bech32m string. */
export function bech32mDecode(s: string, maxLength = 90): Bech32mDecoded {
  if (s.length > maxLength) return { ok: false, reason: `longer than ${maxLength} characters` };
  const lower = s.toLowerCase();
  if (s !== lower && s !== s.toUpperCase()) return { ok: false, reason: 'mixes upper and lower case' };
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 33 || c > 126) return { ok: false, reason: 'contains a character outside printable ASCII' };
  }
  const sep = lower.lastIndexOf('1');
  if (sep < 1) return { ok: false, reason: 'has no human-readable part' };
  if (sep + 7 > lower.length) return { ok: false, reason: 'too short for a checksum' };
  const hrp = lower.slice(0, sep);
  const words: number[] = [];
  for (let i = sep + 1; i < lower.length; i++) {
    const v = CHARSET.indexOf(lower.charAt(i));
    if (v === -1) return { ok: false, reason: `character '${s.charAt(i)}' is not in the bech32 alphabet` };
    words.push(v);
  }
  if (polymod(hrpExpand(hrp).concat(words)) !== BECH32M_CONST) return { ok: false, reason: 'checksum does not match (mistyped?)' };
  return { ok: true, hrp, words: words.slice(0, -6) };
}
