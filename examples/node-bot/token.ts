/**
 * A minimal ERC-20-ish token, written in EVM assembly and assembled here (no compiler needed):
 * `balanceOf(address)`, `transfer(address,uint256)`, `decimals()` and the `Transfer` event.
 * The deployer gets the whole supply (with a mint `Transfer` from the zero address). It is
 * just enough token for the keeper example: no allowances, no total supply, no payable check.
 * Balances live at the storage slot numbered by the holder's address.
 */
import { keccak256, parseAbi, toHex } from 'viem'

export const tokenAbi = parseAbi([
  'function balanceOf(address owner) view returns (uint256)',
  'function transfer(address to, uint256 value) returns (bool)',
  'function decimals() view returns (uint8)',
  'event Transfer(address indexed from, address indexed to, uint256 value)',
])

export const TRANSFER_TOPIC = keccak256(toHex('Transfer(address,address,uint256)'))
const ADDRESS_MASK = `0x${'ff'.repeat(20)}`

/** Runs on every call. Stack comments list the top of the stack first. */
const runtime = `
  PUSH1 0 CALLDATALOAD PUSH1 0xe0 SHR              ; selector
  DUP1 PUSH4 0x70a08231 EQ PUSH2 @balanceOf JUMPI
  DUP1 PUSH4 0xa9059cbb EQ PUSH2 @transfer JUMPI
  DUP1 PUSH4 0x313ce567 EQ PUSH2 @decimals JUMPI
  PUSH1 0 DUP1 REVERT                              ; unknown function

balanceOf:
  PUSH1 4 CALLDATALOAD PUSH20 ${ADDRESS_MASK} AND SLOAD
  PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN

decimals:
  PUSH1 18 PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN

transfer:
  PUSH1 0x24 CALLDATALOAD                          ; value
  CALLER SLOAD                                     ; balance(from), value
  DUP2 DUP2 LT PUSH2 @insufficient JUMPI           ; balance < value: revert
  DUP2 SWAP1 SUB CALLER SSTORE                     ; balance(from) -= value
  PUSH1 4 CALLDATALOAD PUSH20 ${ADDRESS_MASK} AND  ; to, value
  DUP1 SLOAD DUP3 ADD SWAP1 SSTORE                 ; balance(to) += value
  PUSH1 0 MSTORE                                   ; memory[0] = value (the event's data)
  PUSH1 4 CALLDATALOAD PUSH20 ${ADDRESS_MASK} AND  ; to
  CALLER                                           ; from, to
  PUSH32 ${TRANSFER_TOPIC} PUSH1 32 PUSH1 0 LOG3   ; Transfer(from, to, value)
  PUSH1 1 PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN   ; true

insufficient:
  PUSH1 0 DUP1 REVERT
`

/** Runs once at deployment: the whole supply to the deployer, then returns the runtime code. */
const init = (supply: bigint, runtimeLength: number, runtimeOffset: number) => `
  PUSH32 ${toHex(supply)} CALLER SSTORE            ; balance(deployer) = supply
  PUSH32 ${toHex(supply)} PUSH1 0 MSTORE
  CALLER PUSH1 0 PUSH32 ${TRANSFER_TOPIC}          ; topic, from = 0x0, to = deployer
  PUSH1 32 PUSH1 0 LOG3                            ; Transfer(0x0, deployer, supply)
  PUSH2 ${runtimeLength} DUP1 PUSH2 ${runtimeOffset} PUSH1 0 CODECOPY
  PUSH1 0 RETURN                                   ; the runtime, appended after this code
`

/** The deployment bytecode of a token whose deployer holds `supply` (in the smallest unit). */
export function tokenBytecode(supply: bigint): `0x${string}` {
  const code = assemble(runtime)
  // PUSH2 is fixed-width, so the init code's length does not depend on the offset it pushes.
  const offset = assemble(init(supply, code.length / 2, 0)).length / 2
  return `0x${assemble(init(supply, code.length / 2, offset))}${code}`
}

const OPCODES: Record<string, number> = {
  STOP: 0x00,
  ADD: 0x01,
  SUB: 0x03,
  LT: 0x10,
  EQ: 0x14,
  AND: 0x16,
  SHR: 0x1c,
  CALLER: 0x33,
  CALLDATALOAD: 0x35,
  CODECOPY: 0x39,
  MSTORE: 0x52,
  SLOAD: 0x54,
  SSTORE: 0x55,
  JUMPI: 0x57,
  JUMPDEST: 0x5b,
  DUP1: 0x80,
  DUP2: 0x81,
  DUP3: 0x82,
  SWAP1: 0x90,
  LOG3: 0xa3,
  RETURN: 0xf3,
  REVERT: 0xfd,
}

/**
 * A two-pass assembler for the listings above: `name:` defines a label (a JUMPDEST),
 * `PUSHn value` pushes a number (decimal or 0x hex) and `PUSHn @name` a label's offset.
 * Returns hex without the 0x prefix.
 */
function assemble(source: string): string {
  const tokens = source
    .split('\n')
    .map((line) => line.replace(/;.*/, '').trim())
    .flatMap((line) => (line ? line.split(/\s+/) : []))
  const labels = new Map<string, number>()
  const emit = (final: boolean) => {
    let out = ''
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i]!
      if (token.endsWith(':')) {
        labels.set(token.slice(0, -1), out.length / 2)
        out += '5b'
        continue
      }
      const push = /^PUSH(\d+)$/.exec(token)
      if (push) {
        const size = Number(push[1])
        const arg = tokens[++i]!
        const value = arg.startsWith('@')
          ? BigInt(final ? labelOf(labels, arg.slice(1)) : 0)
          : BigInt(arg)
        const hex = value.toString(16).padStart(size * 2, '0')
        if (hex.length > size * 2) throw new Error(`${arg} does not fit in ${token}`)
        out += (0x5f + size).toString(16) + hex
        continue
      }
      const op = OPCODES[token]
      if (op === undefined) throw new Error(`unknown opcode ${token}`)
      out += op.toString(16).padStart(2, '0')
    }
    return out
  }
  emit(false)
  return emit(true)
}

function labelOf(labels: Map<string, number>, name: string): number {
  const at = labels.get(name)
  if (at === undefined) throw new Error(`unknown label ${name}`)
  return at
}
