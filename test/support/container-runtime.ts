import { existsSync } from 'node:fs'
import { request, type RequestOptions } from 'node:http'
import { homedir } from 'node:os'
import { join } from 'node:path'

/**
 * Where a Docker-compatible engine would listen, in Testcontainers' order: `DOCKER_HOST`
 * when set (unix:// or plain tcp://), else the usual socket paths that exist.
 */
function candidates(env: NodeJS.ProcessEnv): RequestOptions[] {
  const host = env.DOCKER_HOST
  if (host?.startsWith('unix://')) return [{ socketPath: host.slice('unix://'.length) }]
  if (host?.startsWith('tcp://')) {
    const url = new URL(`http://${host.slice('tcp://'.length)}`)
    return [{ host: url.hostname, port: Number(url.port || 2375) }]
  }
  if (host) return []
  const uid = process.getuid?.()
  const sockets = [
    '/var/run/docker.sock',
    join(homedir(), '.docker/run/docker.sock'),
    join(homedir(), '.docker/desktop/docker.sock'),
    env.XDG_RUNTIME_DIR && join(env.XDG_RUNTIME_DIR, 'docker.sock'),
    uid !== undefined && `/run/user/${uid}/docker.sock`,
  ]
  return sockets.filter((p): p is string => !!p && existsSync(p)).map(socketPath => ({ socketPath }))
}

function ping(target: RequestOptions, timeoutMs: number): Promise<boolean> {
  return new Promise(resolve => {
    const req = request({ ...target, path: '/_ping', timeout: timeoutMs }, res => {
      res.resume()
      resolve(res.statusCode === 200)
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(false))
    req.end()
  })
}

/**
 * True when a container engine answers `GET /_ping` within `timeoutMs`. Cheap enough to
 * call before deciding to import Testcontainers, which is slow to find out on its own.
 */
export async function containerRuntimeAnswers(timeoutMs = 300, env = process.env): Promise<boolean> {
  const answers = await Promise.all(candidates(env).map(target => ping(target, timeoutMs)))
  return answers.includes(true)
}
