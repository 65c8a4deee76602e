import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { NodeTlsOptions } from '../../lib/runtime/index.js'
import { makeTlsMaterial } from '../support/tls-material.js'

const run = promisify(execFile)

/** Throwaway TLS material for node-to-node tests, made with `openssl`. */
export interface NodeTlsMaterial {
  /** A node certificate from the test CA naming `IP:127.0.0.1` and `DNS:localhost`. */
  readonly node: NodeTlsOptions
  /** Another one from the same CA, same names. */
  readonly other: NodeTlsOptions
  /** One from the same CA that names only `DNS:elsewhere.invalid`. */
  readonly misnamed: NodeTlsOptions
  /** One from another CA (trusting ours), so our nodes refuse it. */
  readonly foreign: NodeTlsOptions
  /** Deletes the files. */
  dispose(): Promise<void>
}

/** Makes a CA, node certificates and a foreign one in a temporary directory. */
export async function makeNodeTls(): Promise<NodeTlsMaterial> {
  const dir = await mkdtemp(join(tmpdir(), 'zkcloud-node-tls-'))
  const foreignDir = await mkdtemp(join(tmpdir(), 'zkcloud-node-tls-foreign-'))
  try {
    const ours = await makeTlsMaterial(dir)
    const theirs = await makeTlsMaterial(foreignDir)
    const ca = ours.client.ca
    const keyStore = await readFile(ours.keyStore)
    const misnamed = await leaf(dir, 'misnamed', 'DNS:elsewhere.invalid')
    return {
      node: { key: ours.client.key, cert: ours.client.cert, ca },
      other: { key: keyStore, cert: keyStore, ca },
      misnamed: { ...misnamed, ca },
      foreign: { key: theirs.client.key, cert: theirs.client.cert, ca },
      dispose: async () => {
        await rm(dir, { recursive: true, force: true })
        await rm(foreignDir, { recursive: true, force: true })
      },
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    await rm(foreignDir, { recursive: true, force: true })
    throw error
  }
}

/** A certificate signed by the CA in `dir` (left there by `makeTlsMaterial`) with the given subjectAltName. */
async function leaf(dir: string, name: string, san: string): Promise<{ key: Buffer; cert: Buffer }> {
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir })
  await writeFile(join(dir, `${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=serverAuth,clientAuth\n`)
  await openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=zkcloud test ${name}`)
  await openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`)
  return { key: await readFile(join(dir, `${name}.key`)), cert: await readFile(join(dir, `${name}.pem`)) }
}
