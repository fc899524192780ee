import { SluiceError } from '@sluice/errors';
import { createVirtualClock } from '@sluice/testing';
import { describe, expect, it } from 'vitest';
import { consecutive } from './breaker-strategy.js';
import { circuitBreaker } from './circuit-breaker.js';
import { expectInvalidOption } from './expect-invalid-option.test-support.js';
import { pipeline } from './pipeline.js';
import { createPolicyRegistry } from './policy-registry.js';
import { timeout } from './timeout.js';

describe('createPolicyRegistry', () => {
  it('builds one policy per key, once, and shares it across requests', async () => {
    const clock = createVirtualClock();
    const built: string[] = [];
    const policies = createPolicyRegistry({
      create: (key) => {
        built.push(key);
        return pipeline(
          circuitBreaker({ name: key, strategy: consecutive(3), clock }),
          timeout(1_000, { clock }),
        );
      },
    });
    // Three "requests", each asking the registry: one breaker sees all three failures and opens.
    for (let i = 0; i < 3; i++) {
      await policies
        .get('inventory')
        .execute(() => {
          throw new SluiceError({ code: 'unavailable', reason: 'TEST_DOWN' });
        })
        .catch(() => {});
    }
    await expect(policies.get('inventory').execute(() => 'x')).rejects.toMatchObject({
      reason: 'RESILIENCE_CIRCUIT_OPEN',
      breaker: 'inventory',
    });
    await expect(policies.get('payment').execute(() => 'paid')).resolves.toBe('paid');
    expect(built).toEqual(['inventory', 'payment']);
    expect(policies.get('inventory')).toBe(policies.get('inventory'));
    expect(policies.keys()).toEqual(['inventory', 'payment']);
    expect(policies.metrics().inventory).toMatchObject({ kind: 'pipeline' });
    expect(policies.describe().payment?.policies?.map((p) => p.kind)).toEqual(['circuit-breaker', 'timeout']);
  });

  it('set, has and delete', () => {
    const policies = createPolicyRegistry({ create: () => timeout(100) });
    const mine = timeout(5);
    policies.set('x', mine);
    expect(policies.has('x')).toBe(true);
    expect(policies.get('x')).toBe(mine);
    expect(policies.delete('x')).toBe(true);
    expect(policies.has('x')).toBe(false);
    expect(policies.get('x')).not.toBe(mine);
  });

  it('refuses an empty key and a missing factory', () => {
    const policies = createPolicyRegistry({ create: () => timeout(100) });
    expectInvalidOption(() => policies.get(''), 'key');
    expect(policies.keys()).toEqual([]);
    expectInvalidOption(() => createPolicyRegistry({} as never), 'create');
  });
});
