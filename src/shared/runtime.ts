/** Code runs in a browser (or a worker): its modules come over the network from the page's host. */
export const loadsOverNetwork = (): boolean =>
  (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node ===
  undefined
