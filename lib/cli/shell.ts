import { appendFileSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { type Interface, clearLine, createInterface, cursorTo } from 'node:readline'
import type { Readable, Writable } from 'node:stream'
import type { ZkState, ZooKeeper } from '../zk-wire/index.js'
import type { Target } from './cli.js'
import { Exit, type ShellHooks, UsageError } from './command.js'
import { commands } from './commands.js'
import { BUILTINS, completer } from './completion.js'
import { Interrupted, openSession } from './connect.js'
import { invoke, parseInvocation, report } from './invocation.js'
import { Output } from './output.js'
import { shellWords } from './shell-words.js'

/** Lines kept in the history file. */
const HISTORY_SIZE = 1000

/** What `runShell` needs. */
export interface ShellOptions {
  target: Target
  /** For problems before the session exists. */
  out: Output
  json: boolean
  stdin: Readable
  stdout: Writable
  stderr: Writable
  /** SIGINT/SIGTERM when stdin is not a terminal (on a terminal Ctrl-C reaches readline instead). */
  signal: AbortSignal
}

/** The history file: $ZKCLOUD_HISTORY, else ~/.zkcloud_history; empty for none. */
function historyFile(): string {
  return process.env.ZKCLOUD_HISTORY ?? join(homedir(), '.zkcloud_history')
}

function loadHistory(file: string): string[] {
  if (file === '') return []
  try {
    return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '').slice(-HISTORY_SIZE).reverse()
  } catch {
    return []
  }
}

const hex = (id: bigint): string => `0x${id.toString(16)}`

/**
 * `zkcloud shell` (and `zkcloud` alone): one session for many commands, read
 * from a terminal (history, Tab completion of commands and znode paths, Ctrl-C
 * stops the running command) or from a pipe (one command per line, no
 * prompt). A line says when the connection drops, comes back or the session
 * expires; after an expiry the shell starts a new session with the same
 * credentials, those added with `addauth` included.
 */
export async function runShell(options: ShellOptions): Promise<number> {
  const { target, stdin, stdout, stderr } = options
  const terminal = (stdin as { isTTY?: boolean }).isTTY === true && (stdout as { isTTY?: boolean }).isTTY === true
  const auths: Array<[string, string]> = [...target.auth]
  const open = (): Promise<ZooKeeper> =>
    openSession(target.server, { sessionTimeout: 30_000, requestTimeout: target.timeoutMs, auth: auths, timeoutMs: target.timeoutMs, signal: options.signal })

  let zk: ZooKeeper
  try {
    zk = await open()
  } catch (err) {
    return report(options.out, 'shell', undefined, err)
  }
  let session: Promise<ZooKeeper> = Promise.resolve(zk)
  let state: ZkState = 'connected'
  let busy = false
  let current: AbortController | null = null
  let status: number = Exit.ok
  const history = historyFile()
  const rl: Interface = createInterface({
    input: stdin,
    output: terminal ? stdout : undefined,
    terminal,
    history: terminal ? loadHistory(history) : [],
    historySize: HISTORY_SIZE,
    removeHistoryDuplicates: true,
    completer: terminal ? completer(() => session) : undefined,
  })
  let closed = false
  rl.on('close', () => (closed = true))
  const prompt = (): void => {
    if (!terminal) return
    rl.setPrompt(`zkcloud ${zk.currentServer ?? target.server}${state === 'connected' ? '' : ` (${state})`}> `)
    rl.prompt(true)
  }
  /** A line for the user, above the prompt when one is shown. */
  const notice = (line: string): void => {
    if (!terminal) {
      stderr.write(`${line}\n`)
      return
    }
    if (!busy) {
      clearLine(stdout, 0)
      cursorTo(stdout, 0)
    }
    stdout.write(`${line}\n`)
    if (!busy) prompt()
  }

  const follow = (client: ZooKeeper): void => {
    client.on('state', (s) => {
      if (client !== zk) return
      state = s
      if (s === 'disconnected') notice(`-- disconnected from ${target.server}; reconnecting (session ${hex(client.sessionId)} lives ${client.negotiatedTimeout} ms without a server)`)
      else if (s === 'connected' || s === 'connectedReadOnly') notice(`-- reconnected to ${client.currentServer} (session ${hex(client.sessionId)}${s === 'connectedReadOnly' ? ', read-only' : ''})`)
      else if (s === 'expired' || s === 'authFailed') renew(client, s)
    })
  }
  const renew = (old: ZooKeeper, why: ZkState): void => {
    notice(`-- session ${hex(old.sessionId)} ${why === 'expired' ? 'expired' : 'ended: authentication failed'}: its ephemeral nodes and watches are gone; starting a new session`)
    if (why === 'authFailed') auths.splice(target.auth.length)
    session = (async () => {
      for (;;) {
        try {
          zk = await open()
          state = 'connected'
          follow(zk)
          notice(`-- connected to ${zk.currentServer} (new session ${hex(zk.sessionId)})`)
          return zk
        } catch (err) {
          if (err instanceof Interrupted || closed) throw err
          notice(`-- no new session yet: ${(err as Error).message}; trying again`)
        }
      }
    })()
    session.catch(() => undefined)
  }
  follow(zk)

  const outputs = { plain: new Output(false, stdout, stderr), json: new Output(true, stdout, stderr) }
  const hooks: ShellHooks = {
    notice,
    async addAuth(scheme, credentials) {
      await (await session).addAuth(scheme, credentials)
      auths.push([scheme, credentials])
    },
  }

  rl.on('SIGINT', () => {
    if (current !== null) {
      current.abort()
      return
    }
    stdout.write('^C\n')
    rl.write(null, { ctrl: true, name: 'u' })
    prompt()
  })
  const onOuterAbort = (): void => {
    current?.abort()
    rl.close()
  }
  options.signal.addEventListener('abort', onOuterAbort)

  if (terminal) notice(`connected to ${zk.currentServer} (session ${hex(zk.sessionId)}); help lists the commands, Tab completes, Ctrl-D leaves`)
  prompt()
  try {
    for await (const line of rl) {
      if (line.trim() !== '' && terminal && history !== '') {
        try {
          appendFileSync(history, `${line}\n`)
        } catch {
          // History is a convenience; a read-only home must not stop the shell.
        }
      }
      busy = true
      current = new AbortController()
      try {
        const result = await runLine(line, { json: options.json, outputs, session: () => session, hooks, signal: current.signal, history: () => [...(rl as unknown as { history: string[] }).history].reverse() })
        if (result === 'quit') break
        if (result !== null) status = result
      } finally {
        busy = false
        current = null
      }
      prompt()
    }
  } finally {
    options.signal.removeEventListener('abort', onOuterAbort)
    rl.close()
    await session.then((z) => z.close(), () => undefined)
  }
  return options.signal.aborted ? Exit.interrupted : status
}

interface LineContext {
  json: boolean
  outputs: { plain: Output; json: Output }
  session(): Promise<ZooKeeper>
  hooks: ShellHooks
  signal: AbortSignal
  history(): string[]
}

/** Runs one line; resolves to its status, null for an empty line or a builtin, 'quit' to leave. */
async function runLine(line: string, lc: LineContext): Promise<number | null | 'quit'> {
  const out = lc.json ? lc.outputs.json : lc.outputs.plain
  let words: string[]
  try {
    words = shellWords(line)
  } catch (err) {
    return report(out, undefined, undefined, err)
  }
  const name = words[0]
  if (name === undefined || name.startsWith('#')) return null
  if (name === 'quit' || name === 'exit') return 'quit'
  if (name === 'history') {
    lc.history().forEach((l, i) => out.line(`${String(i + 1).padStart(4)}  ${l}`))
    return null
  }
  if (name === 'help') {
    const command = words[1] === undefined ? undefined : commands.get(words[1])
    if (command !== undefined) out.line(`usage: ${words[1]} ${command.usage}\n      ${command.summary}`)
    else {
      for (const [n, c] of commands) if (c.inShell !== false) out.line(`  ${n} ${c.usage}`)
      out.line(`  ${BUILTINS.join(', ')}; help <command> for one; --json after a command for JSON`)
    }
    return null
  }
  try {
    const inv = parseInvocation(words)
    if (inv.command === undefined || inv.command.inShell === false) throw new UsageError(`${name} is not available in the shell`)
    for (const global of ['server', 'auth', 'timeout', 'version', 'help'] as const) {
      if (inv.values[global] !== undefined) throw new UsageError(`--${global} is not available in the shell${global === 'auth' ? ' (use addauth)' : ''}`)
    }
    const cmdOut = lc.json || inv.values.json === true ? lc.outputs.json : lc.outputs.plain
    return await invoke(inv, { out: cmdOut, connect: lc.session, signal: lc.signal, shell: lc.hooks })
  } catch (err) {
    return report(out, commands.has(name) ? name : undefined, commands.get(name), err)
  }
}
