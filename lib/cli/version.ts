import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/**
 * The package's version, read from its package.json: two levels up from the
 * bundled CLI (`dist/pkg/cli.js`), three from tsc's output (`dist/lib/cli/`).
 */
export function packageVersion(): string {
  for (const relative of ['../../package.json', '../../../package.json']) {
    const file = fileURLToPath(new URL(relative, import.meta.url))
    if (!existsSync(file)) continue
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string }
    if (pkg.name === 'zkcloud' && typeof pkg.version === 'string') return pkg.version
  }
  return 'unknown'
}
