import { formatACL, parseACL } from './acl-text.js'
import { type Command, Exit, UsageError, arg, intOption } from './command.js'
import { aclField, statFields } from './output.js'
import { Progress } from './progress.js'
import { childrenOf, walk } from './walk.js'

export const getAcl: Command = {
  summary: 'print the ACL of a node, one scheme:id:perms entry per line (the form setAcl and create take); -s with its stat',
  usage: '[-s] <path>',
  options: { stat: { type: 'boolean', short: 's' } },
  args: [1, 1],
  async run(ctx) {
    const path = arg(ctx, 0, 'path')
    const zk = await ctx.connect()
    const { acl, stat } = await zk.getACL(path)
    if (ctx.out.json) ctx.out.value({ path, acl: aclField(acl), ...(ctx.values.stat && { stat: statFields(stat, true) }) })
    else {
      for (const entry of acl) ctx.out.line(formatACL([entry]))
      if (ctx.values.stat) ctx.out.fields(statFields(stat, false))
    }
    return Exit.ok
  },
}

export const setAcl: Command = {
  summary: 'replace the ACL of a node (scheme:id:perms[,…], perms from cdrwa); -v only if at that ACL version, -R the whole subtree, -s print the new stat',
  usage: '[-s] [-v version] [-R] <path> <acl>',
  options: { stat: { type: 'boolean', short: 's' }, 'acl-version': { type: 'string', short: 'v' }, recursive: { type: 'boolean', short: 'R' } },
  args: [2, 2],
  async run(ctx) {
    const path = arg(ctx, 0, 'path')
    const acl = parseACL(arg(ctx, 1, 'acl'))
    const expected = intOption(ctx, 'acl-version', -1, '-v', -1)
    if (ctx.values.recursive && expected !== -1) throw new UsageError('-v cannot be combined with -R')
    const zk = await ctx.connect()
    if (!ctx.values.recursive) {
      const stat = await zk.setACL(path, acl, expected)
      if (ctx.out.json) ctx.out.value({ path, stat: statFields(stat, true) })
      else if (ctx.values.stat) ctx.out.fields(statFields(stat, false))
      return Exit.ok
    }
    const progress = new Progress(ctx.out, `setting the ACL under ${path}`)
    const pending: Array<Promise<unknown>> = []
    try {
      for await (const step of walk(path, childrenOf(zk), { signal: ctx.signal })) {
        if (step.kind !== 'enter' || step.problem === 'NONODE') continue
        const set = zk.setACL(step.path, acl).then(() => progress.add())
        set.catch(() => undefined)
        pending.push(set)
        if (pending.length >= 256) await pending.shift()
      }
      await Promise.all(pending)
    } finally {
      progress.stop()
    }
    if (ctx.out.json) ctx.out.value({ path, updated: progress.count, ...(ctx.signal.aborted && { interrupted: true }) })
    if (ctx.signal.aborted) {
      ctx.out.note(`interrupted: the ACL of ${progress.summary('nodes')} was set`)
      return Exit.interrupted
    }
    return Exit.ok
  },
}

export const whoami: Command = {
  summary: 'print the identities the session is authenticated as (scheme:user per line)',
  usage: '',
  args: [0, 0],
  async run(ctx) {
    const zk = await ctx.connect()
    const identities = await zk.whoAmI()
    if (ctx.out.json) ctx.out.value({ identities: identities.map((i) => ({ scheme: i.authScheme, user: i.user })) })
    else for (const i of identities) ctx.out.line(`${i.authScheme}:${i.user}`)
    return Exit.ok
  },
}

export const addauth: Command = {
  summary: 'add credentials to the shell session (digest user:password); on the command line use --auth',
  usage: '<scheme> <credentials>',
  args: [2, 2],
  async run(ctx) {
    if (ctx.shell === null) throw new UsageError('addauth works inside zkcloud shell; on the command line use --auth scheme:credentials')
    await ctx.shell.addAuth(arg(ctx, 0, 'scheme'), arg(ctx, 1, 'credentials'))
    if (ctx.out.json) ctx.out.value({ added: arg(ctx, 0, 'scheme') })
    return Exit.ok
  },
}
