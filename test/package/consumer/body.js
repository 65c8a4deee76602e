// The consumer program of test/package: one scenario through every entry point, against the
// dev server it starts itself. consumer.test.ts puts an import or a require header in front
// of this body (it uses only the five bindings root, zk, runtime, cluster, devServer) and
// runs it as ESM, as CommonJS, bundled, and on Bun and Deno. It prints one line
// `RESULT <json>`, which must be the same in every form.
async function main() {
  const result = {}
  const server = await devServer.startDevServer({ port: 0 })
  const client = await zk.ZooKeeper.connect(server.connectString)
  try {
    await client.create('/pkg', 'hello')
    const { data, stat } = await client.getData('/pkg')
    result.data = data.toString()
    const json = JSON.parse(JSON.stringify(stat))
    result.stat = { version: json.version, czxid: typeof json.czxid, mtimeIsRecent: Math.abs(new Date(stat.mtime).getTime() - Date.now()) < 60_000 }
    const error = await client.getData('/missing').catch((e) => e)
    result.error = { name: error.name, zkError: error instanceof zk.ZkError, sameClass: root.ZkError === zk.ZkError }

    const node = await runtime.Node.start({ host: '127.0.0.1', port: 0 })
    try {
      const echo = node.spawn(async (self) => {
        const { from, n } = await self.receive()
        self.send(from, { n: n + 1, self: self.pid instanceof runtime.ProcessId })
      })
      result.reply = await new Promise((resolve) => {
        node.spawn(async (self) => {
          self.send(echo, { from: self.pid, n: 41 })
          resolve(await self.receive())
        })
      })
    } finally {
      await node.stop()
    }

    const members = await cluster.Cluster.start({ zookeeper: server.connectString, host: '127.0.0.1', logError: () => {} })
    try {
      const worker = members.node.spawn(async (self) => { await self.receive() })
      await members.register('worker', worker)
      const found = await members.getCapable('worker')
      result.capable = found.length === 1 && found[0].equals(worker)
    } finally {
      await members.stop()
    }
  } finally {
    await client.close()
    await server.close()
  }
  // msgpackr's native accelerator (msgpackr-extract) must not be loaded by default.
  // (Deno's process.report has no shared objects list: there this reads as none.)
  const shared = process.report?.getReport?.()?.sharedObjects ?? []
  result.native = shared.filter((file) => /msgpackr|\.node$/.test(file))
  console.log(`RESULT ${JSON.stringify(result)}`)
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
