import { Code, type WatchedEvent, type Watcher, ZkError } from '../zk-wire/index.js'
import { type CommandContext, Exit } from './command.js'
import { Interrupted } from './connect.js'

/**
 * A one-shot watch for `get -w`, `ls -w`, `stat -w`. On the command line the
 * command waits for the event, prints it and exits 0 (130 on Ctrl-C, 3 if the
 * session ends first); in the shell it returns at once and the event is printed
 * above the prompt when it comes, as zkCli does.
 */
export class OneShot {
  private resolve: (event: WatchedEvent) => void = () => undefined
  private readonly fired: Promise<WatchedEvent>
  /** Pass this as the read's `watch` option. */
  readonly watcher: Watcher

  constructor(private readonly ctx: CommandContext) {
    this.fired = new Promise((resolve) => (this.resolve = resolve))
    this.watcher = (event) => {
      // The client re-arms one-shot watches after a reconnect: only the end of the session ends the wait.
      if (event.type === 'None' && (event.state === 'disconnected' || event.state === 'connected' || event.state === 'connectedReadOnly')) return
      this.resolve(event)
    }
  }

  /** Waits for the event (command line) or arranges for it to be shown later (shell). */
  async finish(): Promise<Exit> {
    const { ctx } = this
    if (ctx.shell !== null) {
      const shell = ctx.shell
      void this.fired.then((e) => shell.notice(ctx.out.json ? JSON.stringify({ type: e.type, path: e.path }) : `WATCHER:: ${e.type} ${e.path ?? ''}`.trimEnd()))
      return Exit.ok
    }
    let onAbort: () => void = () => undefined
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(new Interrupted())
      ctx.signal.addEventListener('abort', onAbort, { once: true })
    })
    try {
      const event = await Promise.race([this.fired, aborted])
      if (event.type === 'None') throw new ZkError(event.state === 'expired' ? Code.SESSIONEXPIRED : Code.CONNECTIONLOSS, { op: 'watch', message: `the session ended (${event.state}) before the watch fired` })
      ctx.out.event(event)
      return Exit.ok
    } finally {
      ctx.signal.removeEventListener('abort', onAbort)
    }
  }
}
