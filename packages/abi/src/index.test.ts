import { ABI_VERSION } from './index';
it('targets 2.6.23', () => expect(ABI_VERSION).toBe('2.6.23'));
