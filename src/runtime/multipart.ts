/**
 * Form bodies: FormData to multipart/form-data bytes for `new Response(formData)` (HTML's
 * encoding algorithm), and multipart/form-data (RFC 7578) or application/x-www-form-urlencoded
 * bytes back to FormData for `body.formData()`. Bodies are whole byte arrays by the time they are
 * parsed, so a plain search for the boundary does; a streaming parser would buy nothing here.
 */
import { blobBytes, File } from './blob.js';
import { utf8Decode, utf8Encode } from './encoding.js';
import { FormData, formDataEntries } from './form-data.js';
import { concatBytes } from './streams.js';
import { urlModule } from './url.js';

const CRLF = '\r\n';

export interface MediaType {
  /** Lowercased `type/subtype`. */
  essence: string;
  /** Parameter names lowercased; quoted values unquoted. */
  params: Map<string, string>;
}

/**
 * Parses `type/subtype; name=value; name="quoted \"value\""`; never throws. In quoted values only
 * `\"` and `\\` are escapes: browsers send other backslashes as they are (a filename `a\b.txt`).
 */
export const parseMediaType = (value: string): MediaType => {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i] as string;
    if (quoted && ch === '\\' && i + 1 < value.length) {
      current += ch + (value[++i] as string);
    } else if (ch === '"') {
      quoted = !quoted;
      current += ch;
    } else if (ch === ';' && !quoted) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  const params = new Map<string, string>();
  for (const part of parts.slice(1)) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    const name = part.slice(0, eq).trim().toLowerCase();
    let val = part.slice(eq + 1).trim();
    if (val.startsWith('"'))
      val = val.slice(1, val.endsWith('"') && val.length > 1 ? -1 : undefined).replace(/\\(["\\])/g, '$1');
    if (name !== '' && !params.has(name)) params.set(name, val);
  }
  return { essence: (parts[0] as string).trim().toLowerCase(), params };
};

/** HTML: lone CR or LF in names and string values become CRLF. */
const normalizeLineBreaks = (s: string): string => {
  return s.replace(/\r\n|\r|\n/g, CRLF);
};

/** HTML: names and filenames escape LF, CR and `"` as %0A, %0D and %22. */
const escapeQuoted = (s: string): string => {
  return s.replace(/[\n\r"]/g, (ch) => (ch === '\n' ? '%0A' : ch === '\r' ? '%0D' : '%22'));
};

const randomBoundary = (): string => {
  const digits = (): string => Math.random().toString(36).slice(2, 12).padEnd(10, '0');
  return `----ProcyonFormBoundary${digits()}${digits()}`;
};

/** Serialises a FormData as multipart/form-data; returns the bytes and the Content-Type. */
export const serializeMultipart = (form: FormData): { bytes: Uint8Array; contentType: string } => {
  const boundary = randomBoundary();
  const parts: Uint8Array[] = [];
  for (const [name, value] of formDataEntries(form)) {
    let head = `--${boundary}${CRLF}Content-Disposition: form-data; name="${escapeQuoted(normalizeLineBreaks(name))}"`;
    if (typeof value === 'string') {
      parts.push(utf8Encode(`${head}${CRLF}${CRLF}${normalizeLineBreaks(value)}${CRLF}`));
      continue;
    }
    head += `; filename="${escapeQuoted(value.name)}"${CRLF}`;
    head += `Content-Type: ${value.type === '' ? 'application/octet-stream' : value.type}${CRLF}${CRLF}`;
    parts.push(utf8Encode(head), blobBytes(value), utf8Encode(CRLF));
  }
  parts.push(utf8Encode(`--${boundary}--${CRLF}`));
  const size = parts.reduce((n, p) => n + p.byteLength, 0);
  return { bytes: concatBytes(parts, size), contentType: `multipart/form-data; boundary=${boundary}` };
};

const indexOfBytes = (haystack: Uint8Array, needle: Uint8Array, from: number): number => {
  const first = needle[0] as number;
  const last = haystack.length - needle.length;
  for (let i = haystack.indexOf(first, from); i !== -1 && i <= last; i = haystack.indexOf(first, i + 1)) {
    let j = 1;
    while (j < needle.length && haystack[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
};

const malformed = (detail: string): TypeError => {
  return new TypeError(`Body.formData: the multipart/form-data body is malformed (${detail})`);
};

/** Undoes escapeQuoted, so a FormData survives a round trip through a body. */
const unescapeQuoted = (s: string): string => {
  return s.replace(/%(0A|0D|22)/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
};

/** `filename*=UTF-8''...` (RFC 5987), which some clients send for non-ASCII names. */
const extendedValue = (value: string): string | null => {
  const match = /^utf-8'[^']*'(.*)$/i.exec(value);
  if (match === null) return null;
  try {
    return decodeURIComponent(match[1] as string);
  } catch {
    return null;
  }
};

const parsePartHeaders = (block: string): { name: string; filename: string | null; type: string } => {
  let disposition: MediaType | null = null;
  let type = '';
  for (const line of block.split(CRLF)) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw malformed(`the part header "${line}" has no name`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-disposition') disposition = parseMediaType(value);
    else if (name === 'content-type') type = value;
  }
  if (disposition === null || disposition.essence !== 'form-data' || !disposition.params.has('name'))
    throw malformed('a part has no Content-Disposition: form-data header with a name');
  const star = disposition.params.get('filename*');
  const plain = disposition.params.get('filename');
  const filename =
    (star !== undefined ? extendedValue(star) : null) ?? (plain !== undefined ? unescapeQuoted(plain) : null);
  return { name: unescapeQuoted(disposition.params.get('name') as string), filename, type };
};

/** Parses a multipart/form-data body; TypeError when it is not well formed. */
export const parseMultipart = (bytes: Uint8Array, boundary: string): FormData => {
  if (boundary === '' || boundary.length > 70) throw malformed('the boundary must be 1 to 70 characters');
  const delimiter = utf8Encode(`--${boundary}`);
  const next = utf8Encode(`${CRLF}--${boundary}`);
  const headerEnd = utf8Encode(`${CRLF}${CRLF}`);
  const form = new FormData();
  // A preamble before the first delimiter is allowed (RFC 2046) and ignored.
  let pos: number;
  if (indexOfBytes(bytes.subarray(0, delimiter.length), delimiter, 0) === 0) pos = delimiter.length;
  else {
    const found = indexOfBytes(bytes, next, 0);
    if (found === -1) throw malformed('the boundary does not occur in the body');
    pos = found + next.length;
  }
  for (;;) {
    if (bytes[pos] === 0x2d && bytes[pos + 1] === 0x2d) return form; // `--`: the close delimiter
    while (bytes[pos] === 0x20 || bytes[pos] === 0x09) pos++; // transport padding
    if (bytes[pos] !== 0x0d || bytes[pos + 1] !== 0x0a)
      throw malformed('a delimiter is not followed by CRLF');
    // The header block ends at the first empty line; a part may have no headers at all.
    const end = indexOfBytes(bytes, headerEnd, pos);
    if (end === -1) throw malformed('a part has no end of headers');
    const headers = parsePartHeaders(utf8Decode(bytes.subarray(pos + 2, end + 2)));
    const bodyStart = end + headerEnd.length;
    const bodyEnd = indexOfBytes(bytes, next, bodyStart);
    if (bodyEnd === -1) throw malformed('the body ends inside a part, before its close delimiter');
    const body = bytes.subarray(bodyStart, bodyEnd);
    if (headers.filename === null) form.append(headers.name, utf8Decode(body));
    else {
      // RFC 7578 §4.4: a part without Content-Type is text/plain.
      const type = headers.type === '' ? 'text/plain' : headers.type;
      form.append(headers.name, new File([body], headers.filename, { type }));
    }
    pos = bodyEnd + next.length;
  }
};

/** Parses an application/x-www-form-urlencoded body (URL standard), as FormData. */
export const parseUrlencoded = (bytes: Uint8Array): FormData => {
  const form = new FormData();
  // forEach, not for-of: the library's iterator type is missing from its declarations (any).
  new (urlModule().URLSearchParams)(utf8Decode(bytes)).forEach((value, name) => form.append(name, value));
  return form;
};
