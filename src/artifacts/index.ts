/**
 * Native-driver artifacts (zip or tar.gz of a program): hashed, checked, packed from a directory
 * and unpacked read-only by content hash. A folder of its own below the drivers because the CLI
 * (packing a directory), the control plane (checking an upload) and the native driver (unpacking)
 * all need it, and the first two must not load a sandbox driver to get it.
 */
export * from './artifacts.js';
