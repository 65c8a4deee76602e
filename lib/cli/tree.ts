import { type Command, type CommandContext, Exit } from './command.js'
import { childrenOf, walk } from './walk.js'

/** Guide lines are drawn this deep; below, a line says its depth instead, so a deep chain does not print quadratic output. */
const DRAWN_DEPTH = 64

/**
 * Prints every path under `root` (the root first), one per line, as zkCli's
 * `ls -R` does; with `--json` one `{"path":…}` document per line.
 */
export async function listRecursively(ctx: CommandContext, root: string): Promise<Exit> {
  const zk = await ctx.connect()
  for await (const step of walk(root, childrenOf(zk), { signal: ctx.signal })) {
    if (step.kind !== 'enter') continue
    if (ctx.out.json) ctx.out.value({ path: step.path, ...(step.problem && { problem: step.problem }) })
    else ctx.out.line(step.path)
  }
  return ctx.signal.aborted && !ctx.out.closed ? Exit.interrupted : Exit.ok
}

export const tree: Command = {
  summary: 'draw a node and everything below it (JSON: one {"path","depth"} document per node)',
  usage: '[path]',
  args: [0, 1],
  async run(ctx) {
    const zk = await ctx.connect()
    /** For each level being drawn, whether the node there was the last of its siblings. */
    const lastAt: boolean[] = []
    for await (const step of walk(ctx.args[0] ?? '/', childrenOf(zk), { signal: ctx.signal })) {
      if (step.kind !== 'enter') continue
      const note = step.problem === 'NOAUTH' ? '  [not readable: NOAUTH]' : ''
      if (ctx.out.json) {
        ctx.out.value({ path: step.path, depth: step.depth, ...(step.problem && { problem: step.problem }) })
        continue
      }
      if (step.depth === 0) {
        ctx.out.line(`${step.path}${note}`)
        continue
      }
      lastAt.length = step.depth - 1
      const drawn = Math.min(step.depth - 1, DRAWN_DEPTH)
      let indent = ''
      for (let d = 0; d < drawn; d++) indent += lastAt[d] ? '    ' : '│   '
      if (step.depth - 1 > DRAWN_DEPTH) indent += `… [depth ${step.depth}] `
      ctx.out.line(`${indent}${step.last ? '└── ' : '├── '}${step.name}${note}`)
      lastAt.push(step.last)
    }
    return ctx.signal.aborted && !ctx.out.closed ? Exit.interrupted : Exit.ok
  },
}
