import { type Command, Exit, arg } from './command.js'
import { statFields } from './output.js'

export const getEphemerals: Command = {
  summary: "list the ephemeral nodes this session owns (under path); useful in the shell, where the session lives on",
  usage: '[path]',
  args: [0, 1],
  async run(ctx) {
    const zk = await ctx.connect()
    const paths = (await zk.getEphemerals(ctx.args[0] ?? '/')).sort()
    if (ctx.out.json) ctx.out.value({ paths })
    else for (const p of paths) ctx.out.line(p)
    return Exit.ok
  },
}

export const getAllChildrenNumber: Command = {
  summary: 'print how many nodes there are below a node (at any depth), counted by the server',
  usage: '<path>',
  args: [1, 1],
  async run(ctx) {
    const path = arg(ctx, 0, 'path')
    const zk = await ctx.connect()
    const count = await zk.getAllChildrenNumber(path)
    if (ctx.out.json) ctx.out.value({ path, count })
    else ctx.out.line(String(count))
    return Exit.ok
  },
}

/**
 * The client addresses of a dynamic configuration, as zkCli's `config -c`
 * prints them: `server.N=host:quorum:election[:role];[clientHost:]clientPort`.
 */
function clientAddresses(config: string): string {
  const addresses: string[] = []
  for (const line of config.split('\n')) {
    const m = /^server\.\d+=([^:;]+)[^;]*;(?:(.+):)?(\d+)\s*$/.exec(line.trim())
    if (m === null) continue
    const host = m[2] === undefined || m[2] === '0.0.0.0' ? m[1]! : m[2]
    addresses.push(`${host}:${m[3]}`)
  }
  const version = /^version=(\S+)/m.exec(config)?.[1]
  return [version, addresses.join(',')].filter((s) => s !== undefined && s !== '').join(' ')
}

export const config: Command = {
  summary: 'print the ensemble configuration (/zookeeper/config); -c only the client addresses, -s with its stat',
  usage: '[-c] [-s]',
  options: { client: { type: 'boolean', short: 'c' }, stat: { type: 'boolean', short: 's' } },
  args: [0, 0],
  async run(ctx) {
    const zk = await ctx.connect()
    const { data, stat } = await zk.getConfig()
    const text = data.toString('utf8')
    if (ctx.out.json) {
      const entries = Object.fromEntries(
        text
          .split('\n')
          .filter((l) => l.includes('='))
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      )
      ctx.out.value({ config: entries, ...(ctx.values.client && { client: clientAddresses(text) }), ...(ctx.values.stat && { stat: statFields(stat, true) }) })
      return Exit.ok
    }
    const shown = ctx.values.client ? clientAddresses(text) : text.trimEnd()
    if (shown !== '') ctx.out.line(shown)
    if (ctx.values.stat) ctx.out.fields(statFields(stat, false))
    return Exit.ok
  },
}

export const getConfig: Command = { ...config, summary: 'same as config' }
