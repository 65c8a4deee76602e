import { createRequire } from 'node:module'

/** The Node built-ins loaded on first use rather than at import time. */
interface Builtins {
  'node:crypto': typeof import('node:crypto')
  'node:net': typeof import('node:net')
  'node:tls': typeof import('node:tls')
  'node:tty': typeof import('node:tty')
  'node:util': typeof import('node:util')
}

// `process.getBuiltinModule` (Node >= 20.16) or a `require` rooted anywhere: a built-in
// resolves the same from every path, so this needs no `import.meta.url` (empty when a
// bundler turns this file into CommonJS) and no module a bundler would have to find.
const load: (id: string) => unknown =
  (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule?.bind(process) ?? createRequire(process.execPath)

/**
 * Loads Node's built-in module `id` when first asked, so importing the client
 * does not pay for `node:net`, `node:tls` or `node:crypto` before it needs them.
 * Works the same in ESM, in CommonJS and inside any bundle.
 */
export function builtin<K extends keyof Builtins>(id: K): Builtins[K] {
  return load(id) as Builtins[K]
}
