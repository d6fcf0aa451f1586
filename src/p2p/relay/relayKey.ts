/**
 * A relay's identity on disk: the same key, so the same peer id, across restarts, so dApps can
 * pin it. The file holds the key as libp2p's protobuf, readable by its owner only.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { ConfigError } from '../../shared/errors.ts'

export async function loadOrCreateKey(path: string): Promise<PrivateKey> {
  let bytes: Uint8Array | undefined
  try {
    bytes = await readFile(path)
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOENT')
      throw new ConfigError(`relay key ${path} cannot be read: ${(error as Error).message}`)
  }
  if (bytes) {
    try {
      return privateKeyFromProtobuf(bytes)
    } catch {
      throw new ConfigError(`relay key ${path} is not a libp2p private key`)
    }
  }
  const key = await generateKeyPair('Ed25519')
  await mkdir(dirname(path), { recursive: true })
  await writeFile(path, privateKeyToProtobuf(key), { mode: 0o600, flag: 'wx' })
  return key
}
