/**
 * atob and btoa (HTML's forgiving-base64 over "binary strings"). A bare V8 isolate has neither,
 * and whatwg-url-minimum needs `atob` while it loads (see url.ts).
 */
import { DOMException } from './dom-exception.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

export function btoa(data: unknown): string {
  if (arguments.length === 0) throw new TypeError('btoa: 1 argument required, but only 0 present');
  const s = String(data);
  let out = '';
  for (let i = 0; i < s.length; i += 3) {
    const a = byteAt(s, i);
    const b = i + 1 < s.length ? byteAt(s, i + 1) : -1;
    const c = i + 2 < s.length ? byteAt(s, i + 2) : -1;
    out += ALPHABET[a >> 2];
    out += ALPHABET[((a & 3) << 4) | (b < 0 ? 0 : b >> 4)];
    out += b < 0 ? '=' : ALPHABET[((b & 15) << 2) | (c < 0 ? 0 : c >> 6)];
    out += c < 0 ? '=' : ALPHABET[c & 63];
  }
  return out;
}

function byteAt(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c > 0xff)
    throw new DOMException(
      'btoa: the string contains characters outside of the Latin1 range',
      'InvalidCharacterError',
    );
  return c;
}

export function atob(data: unknown): string {
  if (arguments.length === 0) throw new TypeError('atob: 1 argument required, but only 0 present');
  let s = String(data).replace(/[\t\n\f\r ]/g, '');
  if (s.length % 4 === 0) s = s.replace(/==?$/, '');
  const invalid = (): DOMException =>
    new DOMException('atob: the string to be decoded is not correctly encoded', 'InvalidCharacterError');
  if (s.length % 4 === 1) throw invalid();
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? (DECODE[c] as number) : -1;
    if (v < 0) throw invalid();
    buffer = ((buffer << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += String.fromCharCode((buffer >> bits) & 0xff);
    }
  }
  return out;
}
