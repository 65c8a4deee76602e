import { createRequire } from 'node:module'
import type { Socket } from 'node:net'
import type { TlsOptions } from './options.js'
import type { HostAddress } from './hosts.js'

const load = createRequire(import.meta.url)

/**
 * Opens a TCP socket, or a TLS one when `tls` is given, to `address`; resolve
 * on the returned event (`'connect'` or `'secureConnect'`). `node:net` and
 * `node:tls` are loaded on first use, so importing the client stays fast.
 */
export function openSocket(address: HostAddress, tls?: TlsOptions): { socket: Socket; ready: 'connect' | 'secureConnect' } {
  if (tls === undefined) {
    const net = load('node:net') as typeof import('node:net')
    return { socket: net.connect({ host: address.host, port: address.port }), ready: 'connect' }
  }
  const servername = tls.servername ?? (isIp(address.host) ? undefined : address.host)
  const { connect } = load('node:tls') as typeof import('node:tls')
  const socket = connect({ host: address.host, port: address.port, ...tls, ...(servername === undefined ? {} : { servername }) })
  return { socket, ready: 'secureConnect' }
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':')
}
