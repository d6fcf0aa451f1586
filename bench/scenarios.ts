/**
 * The outage scenarios. Each lab has three sources at 20/40/60 ms in three failure domains (the
 * third a self-hosted node); a scenario breaks some of them once the clients are warm.
 */
import type { Lab, LabSource } from '../test/lab/index.ts'
import { holdLag } from './lagging.ts'

export const sources: LabSource[] = [
  { name: 'first', domain: 'aws-us-east-1', latency: 20 },
  { name: 'second', domain: 'gcp-europe-west1', latency: 40 },
  { name: 'third', domain: 'home', kind: 'self-hosted', latency: 60 },
]

export type Scenario = {
  /** Short key (`--only`, chart labels). */
  id: string
  title: string
  /** Label under the chart's bars. */
  short: string
  /** The healthy source the floor client reads from directly. */
  floor: string
  /** Breaks the lab (after the warm-up); may return a clean-up to run before the lab stops. */
  apply(lab: Lab): Promise<(() => Promise<void>) | undefined>
  /** Something that happens this many ms into the measured window (a recovery). */
  at?: { ms: number; run(lab: Lab): Promise<void>; label: string }
  /** The source whose calls are reported before and after `at`. */
  watch?: string
  /** Blocks the chain must have before the scenario starts. @default 0 */
  minHead?: number
}

const none = async () => undefined

export const scenarios: Scenario[] = [
  { id: 'healthy', title: 'all healthy', short: 'all healthy', floor: 'first', apply: none },
  {
    id: 'blackhole',
    title: 'first blackholed',
    short: '1st blackholed',
    floor: 'second',
    apply: async (lab) => void (await lab.proxy('first').setMode({ kind: 'blackhole' })),
  },
  {
    id: 'refused',
    title: 'first refused',
    short: '1st refused',
    floor: 'second',
    apply: async (lab) => void (await lab.proxy('first').setMode({ kind: 'refused' })),
  },
  {
    id: 'dns',
    title: 'first DNS failure',
    short: '1st DNS failure',
    floor: 'second',
    apply: async (lab) => void (await lab.proxy('first').setMode({ kind: 'dns' })),
  },
  {
    id: 'flap5xx',
    title: 'first flapping 503 (HTML, 2 s on/off)',
    short: '1st flapping 503',
    floor: 'second',
    apply: async (lab) =>
      void (await lab.proxy('first').setMode({ kind: 'http5xx', status: 503, flapMs: 2_000 })),
  },
  {
    id: '429',
    title: 'first 429 (no Retry-After)',
    short: '1st 429',
    floor: 'second',
    apply: async (lab) => void (await lab.proxy('first').setMode({ kind: 'rateLimit' })),
  },
  {
    id: 'slow',
    title: 'first slow (200 ms)',
    short: '1st slow',
    floor: 'second',
    apply: async (lab) => void (await lab.proxy('first').setMode({ kind: 'slow', factor: 10 })),
  },
  {
    id: 'lagging',
    title: 'first lagging 5-7 blocks',
    short: '1st lagging',
    floor: 'second',
    minHead: 7,
    apply: (lab) => holdLag(lab, lab.proxy('first'), { lag: 5, every: 2_000 }),
  },
  {
    id: 'lying',
    title: 'first lying (state, calls, blocks)',
    short: '1st lying',
    floor: 'second',
    apply: async (lab) =>
      void (await lab.proxy('first').setMode({
        kind: 'lie',
        methods: [
          'eth_getBalance',
          'eth_getTransactionCount',
          'eth_call',
          'eth_getBlockByHash',
          'eth_getBlockByNumber',
        ],
      })),
  },
  {
    id: 'two-down',
    title: 'first and third blackholed',
    short: '1st + 3rd blackholed',
    floor: 'second',
    apply: async (lab) => {
      await lab.proxy('first').setMode({ kind: 'blackhole' })
      await lab.proxy('third').setMode({ kind: 'blackhole' })
      return undefined
    },
  },
  {
    id: 'clouds-down',
    title: 'clouds down (DNS + 503), self-hosted up',
    short: 'only self-hosted up',
    floor: 'third',
    apply: async (lab) => {
      await lab.proxy('first').setMode({ kind: 'dns' })
      await lab.proxy('second').setMode({ kind: 'http5xx', status: 503 })
      return undefined
    },
  },
  {
    id: 'recovery',
    title: 'first blackholed 12 s, then back',
    short: 'recovery',
    floor: 'second',
    apply: async (lab) => void (await lab.proxy('first').setMode({ kind: 'blackhole' })),
    at: {
      ms: 12_000,
      label: 'first back',
      run: (lab) => lab.proxy('first').setMode({ kind: 'ok' }),
    },
    watch: 'first',
  },
]
