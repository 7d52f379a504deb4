/**
 * DOMException: the error type web APIs throw for named failures (`atob` throws an
 * "InvalidCharacterError", an aborted signal an "AbortError"). A bare V8 isolate has none.
 */

/** Legacy numeric codes of the names that have one (WebIDL §DOMException names table). */
const LEGACY_CODES: Record<string, number> = {
  IndexSizeError: 1,
  HierarchyRequestError: 3,
  WrongDocumentError: 4,
  InvalidCharacterError: 5,
  NoModificationAllowedError: 7,
  NotFoundError: 8,
  NotSupportedError: 9,
  InvalidStateError: 11,
  SyntaxError: 12,
  InvalidModificationError: 13,
  NamespaceError: 14,
  InvalidAccessError: 15,
  TypeMismatchError: 17,
  SecurityError: 18,
  NetworkError: 19,
  AbortError: 20,
  URLMismatchError: 21,
  QuotaExceededError: 22,
  TimeoutError: 23,
  InvalidNodeTypeError: 24,
  DataCloneError: 25,
};

export class DOMException extends Error {
  readonly #name: string;

  constructor(message: string = '', name: string = 'Error') {
    super(String(message));
    this.#name = String(name);
  }

  override get name(): string {
    return this.#name;
  }

  get code(): number {
    return Object.hasOwn(LEGACY_CODES, this.#name) ? (LEGACY_CODES[this.#name] as number) : 0;
  }

  get [Symbol.toStringTag](): string {
    return 'DOMException';
  }
}
