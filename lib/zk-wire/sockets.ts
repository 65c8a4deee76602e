import type { ConnectionOptions } from 'node:tls'
import type { HostAddress } from './hosts.js'
import type { TlsOptions } from './options.js'

/** The `node:tls` options for a connection to `address`: the SNI name is the host unless it is an IP address. */
export function tlsConnectOptions(address: HostAddress, tls: TlsOptions): ConnectionOptions {
  const servername = tls.servername ?? (isIp(address.host) ? undefined : address.host)
  return { ...tls, ...(servername === undefined ? {} : { servername }) }
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':')
}
