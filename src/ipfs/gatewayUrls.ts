import { redactUrl } from '../shared/url.ts'

/**
 * Checks a list of gateway base URLs (http or https, with no `user:password@`), calling
 * `check(false, why)` for the first that is not one; the why shows the URL without its secrets.
 */
export function checkGatewayUrls(
  gateways: readonly unknown[],
  check: (ok: boolean, what: string) => void,
): void {
  gateways.forEach((g, i) => {
    let url: URL | undefined
    try {
      url = new URL(String(g))
    } catch {}
    check(
      url !== undefined && (url.protocol === 'http:' || url.protocol === 'https:'),
      // A string that is no URL may still hold a key (a scheme left out): shown as "<invalid url>".
      `gateways[${i}] must be an http(s) URL, got ${JSON.stringify(typeof g === 'string' ? redactUrl(g) : String(g))}`,
    )
    check(!url?.username && !url?.password, credentialsRefused(`gateways[${i}]`))
  })
}

/**
 * Why a URL with `user:password@` is refused: fetch refuses it too (in Node and in browsers),
 * with an error that quotes the whole URL, credentials and all.
 */
export const credentialsRefused = (what: string) =>
  `${what} carries user:password@, which fetch refuses; pass a fetch that sends an Authorization header instead`
