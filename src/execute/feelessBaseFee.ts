/**
 * BASEFEE in a call with no gas price: geth and reth read 0 there (they lower the block's base
 * fee to 0 when the gas price is 0, and execution-apis' `call-callenv` test expects it), anvil
 * reads the header's. The nodes disagree, so no answer is proven: the call is left to the
 * quorum, which gives what the user's own nodes say. A call that pays a gas price reads the
 * header's base fee everywhere, and is proven.
 */
import type { EVMOpts } from '@ethereumjs/evm'
import { UnprovableError } from './unprovable.ts'

type CustomOpcode = NonNullable<EVMOpts['customOpcodes']>[number]
type RunState = {
  stack: { push(value: bigint): void }
  interpreter: { getTxGasPrice(): bigint; getBlockBaseFee(): bigint }
}

export const feelessBaseFee: CustomOpcode = {
  opcode: 0x48,
  opcodeName: 'BASEFEE',
  baseFee: 2,
  logicFunction: (runState) => {
    const { stack, interpreter } = runState as unknown as RunState
    if (interpreter.getTxGasPrice() === 0n)
      throw new UnprovableError(
        'BASEFEE in a call without a gas price: geth and reth read 0, anvil the header’s base fee; left to the quorum.',
      )
    stack.push(interpreter.getBlockBaseFee())
  },
}
