import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ID_PATTERN, SHORT_ID_PATTERN, idSchema, isId, shortIdSchema } from '../src/ids.js';

/* The one alphabet of names: whatever passes is one MQTT topic level, one ACL word, one path segment. */
describe('ids', () => {
  it('never lets through a character that splits or widens a topic, an ACL line or a path', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 70 }), (value) => {
        if (!isId(value)) return;
        expect(value).not.toMatch(/[/+#$\s"'\\]/);
        expect(value.length).toBeGreaterThanOrEqual(1);
        expect(value.length).toBeLessThanOrEqual(64);
        expect(value).not.toMatch(/^[._-]/);
      }),
    );
  });

  it('takes the names the store uses, refuses the rest with the rule in the message', () => {
    for (const good of ['store-001-box-1', 'edgepay-bridge', 'a', 'x'.repeat(64), 'lane_2.b']) expect(isId(good), good).toBe(true);
    for (const bad of ['', '-lead', '.hidden', 'a/b', 'a+b', 'a#', '$SYS', 'x'.repeat(65), 'a b', 'caf\u00e9']) expect(isId(bad), bad).toBe(false);
    expect(idSchema().safeParse('a/b').error?.issues[0]?.message).toBe("must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit");
    expect(shortIdSchema().safeParse('x'.repeat(33)).error?.issues[0]?.message).toMatch(/^must be 1-32 letters/);
  });

  it('a short id is an id of at most 32 characters', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (value) => {
        expect(SHORT_ID_PATTERN.test(value)).toBe(ID_PATTERN.test(value) && value.length <= 32);
      }),
    );
  });
});
