import { MemoryResponseStore } from '../../src/api/responses/response-store.ts';
import { responseStoreContract } from './response-store.contract.ts';

responseStoreContract('MemoryResponseStore', (limits) => Promise.resolve(new MemoryResponseStore(limits)));
