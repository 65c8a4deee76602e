import { startDevServer } from '../dev-server/index.js'
import { type Command, Exit, intOption } from './command.js'

export const devServer: Command = {
  summary: 'run an in-memory ZooKeeper-protocol server for development and tests, until interrupted',
  usage: '[--port 2181] [--host 127.0.0.1] [--data-dir dir] [--tick-time 2000] [--container-check-interval 60000]',
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
    'data-dir': { type: 'string' },
    'tick-time': { type: 'string' },
    'container-check-interval': { type: 'string' },
  },
  async run(ctx) {
    const server = await startDevServer({
      port: intOption(ctx, 'port', 2181),
      host: (ctx.values.host as string | undefined) ?? '127.0.0.1',
      tickTime: intOption(ctx, 'tick-time', 2000),
      containerCheckInterval: intOption(ctx, 'container-check-interval', 60_000),
      dataDir: ctx.values['data-dir'] as string | undefined,
    })
    if (ctx.out.json) ctx.out.value({ listening: server.connectString })
    else ctx.out.line(`dev server listening on ${server.connectString}${ctx.values['data-dir'] ? ` (snapshot in ${String(ctx.values['data-dir'])})` : ' (in memory)'}`)
    await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }))
    await server.close()
    return Exit.ok
  },
}
