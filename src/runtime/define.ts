/**
 * How the prelude puts things on the global object: like WebIDL does for interfaces and
 * operations (writable, configurable, not enumerable), so `Object.keys(globalThis)` stays clean and
 * user code may still replace a global for itself.
 */
export function defineGlobal(name: string, value: unknown): void {
  // esbuild renames bundled classes and functions (`class _Headers`, `atob2`); `Headers.name` must
  // still read "Headers".
  if (typeof value === 'function' && value.name !== name) {
    Object.defineProperty(value, 'name', { value: name, configurable: true });
  }
  Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
}
