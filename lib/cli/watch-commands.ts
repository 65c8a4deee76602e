import type { WatcherType } from '../zk-wire/index.js'
import { type Command, Exit, UsageError, arg } from './command.js'

export const watch: Command = {
  summary: 'print the events of a node as they happen (-r: of its whole subtree) until interrupted',
  usage: '[-r] <path>',
  options: { recursive: { type: 'boolean', short: 'r' } },
  args: [1, 1],
  async run(ctx) {
    if (ctx.shell !== null) throw new UsageError('watch runs until Ctrl-C; in the shell use get -w, ls -w or stat -w')
    const zk = await ctx.connect()
    const w = await zk.addWatch(arg(ctx, 0, 'path'), ctx.values.recursive ? 'persistentRecursive' : 'persistent')
    let stopped: Promise<void> = Promise.resolve()
    const stop = (): void => void (stopped = w.close())
    ctx.signal.addEventListener('abort', stop)
    const onState = (state: string): void => {
      if (state === 'disconnected') ctx.out.note('connection lost; reconnecting (the watch stays)')
    }
    zk.on('state', onState)
    try {
      for await (const event of w) {
        if (event.type !== 'None') ctx.out.event(event)
        else if (ctx.out.json) ctx.out.value({ type: 'None', state: event.state, path: null, reconnected: true })
        else ctx.out.note('reconnected: changes made while the connection was down are not replayed; read again what you watch')
      }
    } finally {
      ctx.signal.removeEventListener('abort', stop)
      zk.off('state', onState)
    }
    // The watch ended locally already; the server side goes with the session anyway.
    await stopped.catch(() => undefined)
    return Exit.ok
  },
}

export const removewatches: Command = {
  summary: "remove this session's watches on a node: -c child, -d data, -a any (default); persistent ones with -p/-R; -l here even if no server answers",
  usage: '[-c|-d|-a|-p|-R] [-l] <path>',
  options: {
    children: { type: 'boolean', short: 'c' },
    data: { type: 'boolean', short: 'd' },
    any: { type: 'boolean', short: 'a' },
    persistent: { type: 'boolean', short: 'p' },
    recursive: { type: 'boolean', short: 'R' },
    local: { type: 'boolean', short: 'l' },
  },
  args: [1, 1],
  async run(ctx) {
    const path = arg(ctx, 0, 'path')
    const chosen = (['children', 'data', 'any', 'persistent', 'recursive'] as const).filter((k) => ctx.values[k])
    if (chosen.length > 1) throw new UsageError('give one of -c, -d, -a, -p, -R')
    const types: Record<string, WatcherType> = { children: 'children', data: 'data', any: 'any', persistent: 'persistent', recursive: 'persistentRecursive' }
    const type = types[chosen[0] ?? 'any']!
    const zk = await ctx.connect()
    await zk.removeWatches(path, type, { local: ctx.values.local === true })
    if (ctx.out.json) ctx.out.value({ path, removed: type })
    return Exit.ok
  },
}
