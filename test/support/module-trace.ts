import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

/**
 * The URLs of every module a fresh Node process resolves when it imports
 * `specifier` from `cwd` (traced with a module resolve hook).
 */
export function modulesLoadedBy(cwd: string, specifier: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'zkcloud-trace-'))
  try {
    const hook = join(dir, 'hook.mjs')
    writeFileSync(hook, `export async function resolve(s, c, next) { const r = await next(s, c); process.stderr.write('LOADED ' + r.url + '\\n'); return r }`)
    const register = join(dir, 'register.mjs')
    writeFileSync(register, `import { register } from 'node:module'; register(${JSON.stringify(pathToFileURL(hook).href)})`)
    const r = spawnSync(process.execPath, ['--import', pathToFileURL(register).href, '--input-type=module', '-e', `await import(${JSON.stringify(specifier)})`], { cwd, encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`importing ${specifier} failed: ${r.stderr}`)
    return r.stderr
      .split('\n')
      .filter((l) => l.startsWith('LOADED '))
      .map((l) => l.slice(7))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
