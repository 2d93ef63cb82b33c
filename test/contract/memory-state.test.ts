import { MemoryState } from '../../src/state/memory-state.ts';
import { stateContract } from './shared-state.contract.ts';

stateContract('MemoryState', async () => new MemoryState());
