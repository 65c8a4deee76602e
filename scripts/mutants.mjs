#!/usr/bin/env node
// `npm run mutants`: applies each one-line mutation of scripts/mutants.list.mjs to a scratch copy
// of the built tree (the compiled JavaScript in dist/, so no rebuild per mutant), then asks the
// simulator (fresh seeds until the first failure, within a budget) and the test files that cover
// the mutated code whether they notice, and how fast. Prints a Markdown score table.
//
//   node scripts/mutants.mjs [--only id,id] [--sim-budget 60] [--no-tests] [--no-sim] [--seed N]
//
// Needs a build (npm run build). The tests run against real ZooKeeper, as npm test does.
import { spawn } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { MUTANTS } from './mutants.list.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const arg = (name) => {
  const i = process.argv.indexOf(`--${name}`)
  return i === -1 ? undefined : process.argv[i + 1]
}
const flag = (name) => process.argv.includes(`--${name}`)
const only = arg('only')?.split(',')
const simBudget = Number(arg('sim-budget') ?? 60)
const firstSeed = Number(arg('seed') ?? 1)

/** The mutation as a regex that ignores how whitespace, line breaks and semicolons fall (TypeScript source vs emitted JavaScript). */
function pattern(from) {
  // Tokens of the snippet, in order; between them any whitespace and semicolons (the source omits them, tsc adds them).
  return new RegExp(from.trim().split(/\s+/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[\\s;]+'), 'g')
}

function sourceLine(file, from) {
  const text = readFileSync(join(root, file), 'utf8')
  const matches = [...text.matchAll(pattern(from))]
  if (matches.length !== 1) return { error: `${matches.length} matches in ${file}` }
  return { line: text.slice(0, matches[0].index).split('\n').length }
}

function run(cmd, args, cwd, timeoutMs) {
  return new Promise((resolve) => {
    const started = performance.now()
    const child = spawn(cmd, args, { cwd, env: { ...process.env, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    let out = ''
    child.stdout.on('data', (c) => (out += c))
    child.stderr.on('data', (c) => (out += c))
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, 'SIGKILL')
      } catch {}
    }, timeoutMs)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, out, seconds: (performance.now() - started) / 1000 })
    })
  })
}

const scratch = mkdtempSync(join(tmpdir(), 'zkcloud-mutants-'))
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }))
for (const dir of ['dist', 'scripts', 'test']) cpSync(join(root, dir), join(scratch, dir), { recursive: true })
cpSync(join(root, 'package.json'), join(scratch, 'package.json'))
symlinkSync(join(root, 'node_modules'), join(scratch, 'node_modules'))

const rows = []
for (const m of MUTANTS) {
  if (only && !only.includes(m.id)) continue
  const where = sourceLine(m.file, m.from)
  const js = join(scratch, 'dist', m.file.replace(/\.ts$/, '.js'))
  const row = { m, where: where.error ?? `${m.file}:${where.line}`, sim: '—', tests: '—' }
  rows.push(row)
  if (where.error || !existsSync(js)) {
    row.sim = row.tests = `stale entry (${where.error ?? 'no compiled file'})`
    continue
  }
  const pristine = readFileSync(js, 'utf8')
  const hits = [...pristine.matchAll(pattern(m.from))].length
  if (hits !== 1) {
    row.sim = row.tests = `stale entry (${hits} matches in the compiled file)`
    continue
  }
  writeFileSync(js, pristine.replace(pattern(m.from), m.to))
  console.error(`mutant ${m.id}: ${m.title}`)
  try {
    if (!flag('no-sim') && m.sim !== false) {
      const r = await run(process.execPath, ['dist/test/sim/main.js', ...(m.world ? ['--world', m.world] : []), '--seed', String(firstSeed), '--budget', String(simBudget), '--first-failure', '--no-record'], scratch, (simBudget + 600) * 1000)
      const first = /FIRST FAILURE: seed (\d+) after (\d+) seeds, ([\d.]+) s/.exec(r.out)
      const minimal = /minimal fault schedule \((\d+) of (\d+)\)/.exec(r.out)
      const violation = /first violation of the minimal run: (.*)/.exec(r.out)?.[1]
      const replay = /replay: (.*)/.exec(r.out)?.[1]
      row.sim = first ? `killed in ${first[3]} s (seed ${first[1]}, ${first[2]} seeds; shrunk to ${minimal?.[1]} of ${minimal?.[2]} faults)` : `survived ${simBudget} s`
      row.violation = violation
      row.replay = replay
    } else if (m.sim === false) {
      row.sim = 'not simulated yet'
    }
    if (!flag('no-tests') && m.tests.length > 0) {
      const r = await run(process.execPath, ['scripts/test.mjs', ...m.tests], scratch, 900_000)
      const killed = r.code !== 0
      row.tests = `${killed ? 'killed' : 'survived'} (${m.tests.join(', ')}: ${r.seconds.toFixed(0)} s)`
    }
  } finally {
    writeFileSync(js, pristine)
  }
  console.error(`  simulator: ${row.sim}\n  tests: ${row.tests}${row.violation ? `\n  found: ${row.violation}` : ''}`)
}

console.log('\n| mutant | where | simulator | test suite |')
console.log('| --- | --- | --- | --- |')
for (const r of rows) console.log(`| ${r.m.title} | \`${r.where}\` | ${r.sim} | ${r.tests} |`)
console.log('\nWhat the simulator reported (shrunk), per killed mutant:')
for (const r of rows) if (r.violation) console.log(`- ${r.m.id}: ${r.violation}\n  ${r.replay ?? ''}`)
