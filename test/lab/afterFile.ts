/**
 * vitest's `setupFiles` entry: after each test file's own hooks, kills the anvil nodes a failed
 * test left running. Under `node --test` each file's process exited and its 'exit' hook did it;
 * vitest ends a file's worker with SIGTERM, which skips that hook.
 */
import { afterAll } from 'vitest'
import { killRunningAnvils } from './anvil.ts'

afterAll(killRunningAnvils)
