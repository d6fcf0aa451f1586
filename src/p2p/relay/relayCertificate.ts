/**
 * The relay's WebRTC-Direct certificate on disk, beside its key. Browsers dial WebRTC-Direct by
 * the certificate's hash (`/certhash/…` in the multiaddr), so a certificate made anew at each
 * start would break every address a dApp pinned. The file holds the private key (PKCS #8) and the
 * certificate, as PEM, readable by its owner only. The certificate is made as @libp2p/webrtc
 * makes its own (ECDSA P-256, self-signed with @peculiar/x509, libp2p's 14-day validity) and
 * renewed at start once it is within a day of expiry: its hash then changes, and operators
 * publish the new address.
 */
import { createHash, createPrivateKey, KeyObject, randomBytes, X509Certificate } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { TransportCertificate } from '@libp2p/webrtc'
import { ConfigError } from '../../shared/errors.ts'

/** How long a new certificate is valid: @libp2p/webrtc's default. */
export const CERTIFICATE_LIFESPAN = 14 * 86_400_000
/** A certificate this close to expiry is renewed: @libp2p/webrtc's default. */
export const RENEW_BEFORE = 86_400_000

export type RelayCertificate = {
  /** What `webRTCDirect({ certificate })` takes. */
  certificate: TransportCertificate
  notAfter: Date
  /** `loaded` from the file, `created` (no file yet) or `renewed` (the old one was due). */
  made: 'loaded' | 'created' | 'renewed'
}

/** The certificate file kept beside a relay's key file. */
export const certificateFileFor = (keyFile: string): string => `${keyFile}.webrtc.pem`

/** Renew once within `renewBefore` of expiry (or past it). */
export const certificateDue = (notAfter: Date, now: number, renewBefore = RENEW_BEFORE): boolean =>
  notAfter.getTime() - renewBefore <= now

/** The certificate in `path`, made (or renewed) and written there when missing or due. */
export async function loadOrCreateCertificate(
  path: string,
  now = Date.now(),
): Promise<RelayCertificate> {
  let text: string | undefined
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOENT')
      throw new ConfigError(`relay certificate ${path} cannot be read: ${(error as Error).message}`)
  }
  const kept = text === undefined ? undefined : parseCertificate(text, path)
  if (kept && !certificateDue(kept.notAfter, now)) return { ...kept, made: 'loaded' }
  const made = await createCertificate(now)
  await mkdir(dirname(path), { recursive: true })
  // Written whole, then renamed over the old one: a crash never leaves half a file.
  const temporary = `${path}.${process.pid}.tmp`
  await writeFile(temporary, `${made.privateKey}\n${made.pem}`, { mode: 0o600 })
  await rename(temporary, path)
  return {
    ...parseCertificate(`${made.privateKey}\n${made.pem}`, path),
    made: kept ? 'renewed' : 'created',
  }
}

/** A certificate file's contents, checked: one P-256 key and the certificate made for it. */
export function parseCertificate(text: string, path: string): Omit<RelayCertificate, 'made'> {
  const corrupt = (why: string) =>
    new ConfigError(
      `relay certificate ${path} ${why}; delete it to make a new one (the WebRTC-Direct address's certhash will change)`,
    )
  const blocks = [...text.matchAll(/-----BEGIN ([A-Z ]+)-----[\s\S]+?-----END \1-----/g)]
  const block = (label: string) => {
    const found = blocks.filter((b) => b[1] === label)
    if (found.length !== 1) throw corrupt(`must hold one ${label} in PEM, found ${found.length}`)
    return found[0]![0]
  }
  const keyPem = block('PRIVATE KEY')
  const certPem = block('CERTIFICATE')
  let key: KeyObject
  let cert: X509Certificate
  try {
    key = createPrivateKey(keyPem)
    cert = new X509Certificate(certPem)
  } catch {
    throw corrupt('does not decode')
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
    throw corrupt('must hold an ECDSA P-256 key (the curve browsers accept for WebRTC)')
  if (!cert.checkPrivateKey(key)) throw corrupt("holds a certificate that is not its key's")
  return {
    certificate: { privateKey: keyPem, pem: certPem, certhash: certhashOf(cert.raw) },
    notAfter: new Date(cert.validTo),
  }
}

/** The certificate's hash as WebRTC-Direct multiaddrs carry it: multibase base64url of a sha2-256 multihash. */
export function certhashOf(der: Uint8Array): string {
  const digest = createHash('sha256').update(der).digest()
  return `u${Buffer.concat([Buffer.from([0x12, 0x20]), digest]).toString('base64url')}`
}

async function createCertificate(now: number): Promise<{ privateKey: string; pem: string }> {
  // @peculiar/x509 (a dependency of @libp2p/webrtc, which makes its certificates with it) needs
  // the reflect-metadata polyfill, which @libp2p/webrtc loads: load that first.
  await import('@libp2p/webrtc')
  const { BasicConstraintsExtension, X509CertificateGenerator } = await import('@peculiar/x509')
  const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ])
  // Whole seconds: X.509 times have no milliseconds.
  const notBefore = new Date(Math.floor(now / 1000) * 1000)
  const notAfter = new Date(notBefore.getTime() + CERTIFICATE_LIFESPAN)
  const cert = await X509CertificateGenerator.createSelfSigned(
    {
      // A leading 01 keeps the serial positive, as X.509 wants.
      serialNumber: `01${randomBytes(15).toString('hex')}`,
      name: 'CN=outlast relay',
      notBefore,
      notAfter,
      keys,
      extensions: [new BasicConstraintsExtension(false, undefined, true)],
    },
    crypto,
  )
  const privateKey = KeyObject.from(keys.privateKey).export({ format: 'pem', type: 'pkcs8' })
  return { privateKey: String(privateKey).trim(), pem: cert.toString('pem') }
}
