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

/**
 * Defines `globalThis[name]` as an accessor that loads its module on first read (inside a user's
 * isolate, never while the snapshot is made) and then turns itself into an ordinary data property
 * holding `load()[name]`; assigning to it first just stores the new value. For globals backed by a
 * library or module that is loaded lazily (see the snapshot rule in index.ts and lazy.ts). The
 * loader is shared by a family's globals: each global costs the snapshot two small closures.
 */
export function defineLazyGlobal(name: string, load: () => object): void {
  Object.defineProperty(globalThis, name, {
    get(): unknown {
      const value = (load() as Record<string, unknown>)[name];
      defineGlobal(name, value);
      return value;
    },
    set(value: unknown): void {
      Object.defineProperty(globalThis, name, {
        value,
        writable: true,
        configurable: true,
        enumerable: false,
      });
    },
    configurable: true,
    enumerable: false,
  });
}
