import { readFileSync } from 'node:fs'
import { type DevServerOptions, startDevServer } from '../dev-server/index.js'
import { type Command, type CommandContext, Exit, UsageError, intOption, stringOption } from './command.js'

/** `--sasl-user name:password`, repeatable. */
function saslUsers(ctx: CommandContext): Record<string, string> | undefined {
  const given = (ctx.values['sasl-user'] as string[] | undefined) ?? []
  if (given.length === 0) return undefined
  const users: Record<string, string> = {}
  for (const entry of given) {
    const colon = entry.indexOf(':')
    if (colon <= 0) throw new UsageError(`--sasl-user needs name:password, got "${entry}"`)
    users[entry.slice(0, colon)] = entry.slice(colon + 1)
  }
  return users
}

/** `--tls-port` with `--tls-cert`, `--tls-key` and optionally `--tls-ca` (PEM files). */
function tls(ctx: CommandContext): DevServerOptions['tls'] {
  const port = ctx.values['tls-port'] === undefined ? undefined : intOption(ctx, 'tls-port', 0, '--tls-port', 0)
  const [cert, key, ca] = (['tls-cert', 'tls-key', 'tls-ca'] as const).map((o) => stringOption(ctx, o))
  if (port === undefined) {
    if (cert !== undefined || key !== undefined || ca !== undefined) throw new UsageError('--tls-cert, --tls-key and --tls-ca go with --tls-port')
    return undefined
  }
  if (cert === undefined || key === undefined) throw new UsageError('--tls-port needs --tls-cert and --tls-key (PEM files)')
  const read = (option: string, file: string): Buffer => {
    try {
      return readFileSync(file)
    } catch (err) {
      throw new UsageError(`${option}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
    }
  }
  return { port, cert: read('--tls-cert', cert), key: read('--tls-key', key), ...(ca !== undefined && { ca: read('--tls-ca', ca) }) }
}

export const devServer: Command = {
  summary: 'run an in-memory ZooKeeper-protocol server for development and tests, until interrupted',
  usage:
    '[--port 2181] [--host 127.0.0.1] [--data-dir dir] [--tick-time 2000] [--container-check-interval 60000] [--sasl-user name:password]… [--4lw-whitelist ruok,srvr,…|*] [--sessionless-timeout 10000] [--tls-port port --tls-cert file --tls-key file [--tls-ca file]]',
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    'data-dir': { type: 'string' },
    'tick-time': { type: 'string' },
    'container-check-interval': { type: 'string' },
    'sasl-user': { type: 'string', multiple: true },
    '4lw-whitelist': { type: 'string' },
    'sessionless-timeout': { type: 'string' },
    'tls-port': { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'tls-ca': { type: 'string' },
  },
  inShell: false,
  async run(ctx) {
    const whitelist = stringOption(ctx, '4lw-whitelist')
    const options: DevServerOptions = {
      port: intOption(ctx, 'port', 2181, '--port', 0),
      host: stringOption(ctx, 'host') ?? '127.0.0.1',
      tickTime: intOption(ctx, 'tick-time', 2000, '--tick-time', 1),
      containerCheckInterval: intOption(ctx, 'container-check-interval', 60_000, '--container-check-interval', 1),
      sessionlessTimeout: intOption(ctx, 'sessionless-timeout', 10_000, '--sessionless-timeout', 1),
      ...(stringOption(ctx, 'data-dir') !== undefined && { dataDir: stringOption(ctx, 'data-dir') }),
      ...(whitelist !== undefined && { fourLetterWords: whitelist.trim() === '*' ? '*' : whitelist.split(',').map((w) => w.trim()).filter((w) => w !== '') }),
    }
    const users = saslUsers(ctx)
    if (users) options.saslUsers = users
    const secure = tls(ctx)
    if (secure) options.tls = secure
    const server = await startDevServer(options)
    if (ctx.out.json) ctx.out.value({ listening: server.connectString, ...(server.secureConnectString && { tls: server.secureConnectString }) })
    else {
      const where = ctx.values['data-dir'] ? ` (snapshot in ${String(ctx.values['data-dir'])})` : ' (in memory)'
      ctx.out.line(`dev server listening on ${server.connectString}${server.secureConnectString ? `, TLS on ${server.secureConnectString}` : ''}${where}`)
    }
    await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }))
    await server.close()
    return Exit.ok
  },
}
