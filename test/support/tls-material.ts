import { execFile } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'

/** PEM material for a TLS client of a test ensemble. */
export interface TlsMaterial {
  /** The CA certificate that signed the servers' certificate (trust anchor). */
  ca: Buffer
  /** A client certificate signed by the same CA (servers require client certificates). */
  cert: Buffer
  /** The client certificate's private key. */
  key: Buffer
}

/** Files the servers are configured with, plus the client side material. */
export interface TlsFiles {
  /** PEM: the server's private key followed by its certificate (SAN IP:127.0.0.1). */
  keyStore: string
  /** PEM: the CA certificate. */
  trustStore: string
  client: TlsMaterial
}

const run = promisify(execFile)

/**
 * Make a throwaway CA and a server and a client certificate (EC P-256, valid two days,
 * SAN `IP:127.0.0.1, DNS:localhost`) in `dir` with the `openssl` command. ZooKeeper 3.6+
 * reads PEM key and trust stores directly, so no keytool or PKCS#12 step is needed.
 */
export async function makeTlsMaterial(dir: string): Promise<TlsFiles> {
  const path = (name: string) => join(dir, name)
  const openssl = async (...args: string[]) => {
    try {
      await run('openssl', args, { cwd: dir })
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: string }
      throw new Error(e.code === 'ENOENT'
        ? 'TLS test ensembles need the openssl command (apt-get install openssl)'
        : `openssl ${args[0]} failed: ${e.stderr ?? e.message}`)
    }
  }
  const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']
  await writeFile(path('leaf.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n')
  await openssl('req', '-x509', ...newKey, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2',
    '-subj', '/CN=zkcloud test CA')
  for (const leaf of ['server', 'client']) {
    await openssl('req', ...newKey, '-keyout', `${leaf}.key`, '-out', `${leaf}.csr`,
      '-subj', `/CN=zkcloud test ${leaf}`)
    await openssl('x509', '-req', '-in', `${leaf}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key',
      '-CAcreateserial', '-days', '2', '-extfile', 'leaf.ext', '-out', `${leaf}.pem`)
  }
  const [serverKey, serverCert, ca, cert, key] = await Promise.all(
    ['server.key', 'server.pem', 'ca.pem', 'client.pem', 'client.key'].map(name => readFile(path(name))))
  await writeFile(path('server-keystore.pem'), Buffer.concat([serverKey!, serverCert!]))
  return { keyStore: path('server-keystore.pem'), trustStore: path('ca.pem'), client: { ca: ca!, cert: cert!, key: key! } }
}
