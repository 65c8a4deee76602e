import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { trackPid, untrackPid } from '../support/cleanup.js'

const run = promisify(execFile)

/**
 * A program run under a pseudo-terminal: a tmux session on a private socket
 * (`tmux -L`), so the test drives it as a user at a terminal does (keys in,
 * screen out) and touches no other tmux server. `kill()` ends that server.
 */
export class Tmux {
  private serverPid = 0

  private constructor(private readonly socket: string) {}

  /** Starts `command` (with `env` added) in a 160x50 terminal; after it exits the pane shows `exit status N`. */
  static async start(command: string[], env: Record<string, string> = {}): Promise<Tmux> {
    const t = new Tmux(`zkcloud-test-${randomBytes(4).toString('hex')}`)
    const quoted = command.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ')
    const vars = Object.entries(env)
      .map(([k, v]) => `${k}='${v.replaceAll("'", "'\\''")}'`)
      .join(' ')
    // history-limit applies to panes made after it is set: so from a config file.
    const conf = join(tmpdir(), `${t.socket}.conf`)
    writeFileSync(conf, 'set -g history-limit 100000\n')
    await t.tmux('-f', conf, 'new-session', '-d', '-s', 'main', '-x', '160', '-y', '50', `env ${vars} ${quoted}; echo "exit status $?"; sleep 600`)
    rmSync(conf, { force: true })
    // The tmux server leaves the test's process group: have the kit kill it however the test ends.
    t.serverPid = Number((await t.tmux('display-message', '-p', '#{pid}')).trim())
    trackPid(t.serverPid)
    return t
  }

  private async tmux(...args: string[]): Promise<string> {
    return (await run('tmux', ['-L', this.socket, ...args], { maxBuffer: 64 * 1024 * 1024 })).stdout
  }

  /** Types `text` as it is. */
  async type(text: string): Promise<void> {
    await this.tmux('send-keys', '-t', 'main', '-l', text)
  }

  /** Presses keys by tmux name: `Enter`, `Tab`, `Up`, `C-c`, `C-d`. */
  async press(...keys: string[]): Promise<void> {
    await this.tmux('send-keys', '-t', 'main', ...keys)
  }

  /** Types a line and presses Enter. */
  async line(text: string): Promise<void> {
    await this.type(text)
    await this.press('Enter')
  }

  /** Everything on the screen and in its scrollback, trailing blanks trimmed. */
  async screen(): Promise<string> {
    return (await this.tmux('capture-pane', '-p', '-J', '-t', 'main', '-S', '-')).replace(/\s+$/, '')
  }

  /** Waits until the screen matches `pattern` (polling every 50 ms); returns the screen. */
  async waitFor(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const screen = await this.screen()
      if (pattern.test(screen)) return screen
      if (Date.now() > deadline) throw new Error(`the terminal never showed ${pattern}; it shows:\n${screen}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  /** Ends the tmux server of this session (and the program in it). */
  async kill(): Promise<void> {
    await this.tmux('kill-server').catch(() => undefined)
    untrackPid(this.serverPid)
  }
}
