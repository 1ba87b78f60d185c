import { CohortDefinitionError, parseDefinitionText, validateDefinition } from '../../../src/cohort/index.js';

// What the fuzz suite (test/unit/fuzz/cohort.test.ts) found: each is now one clear issue, not a crash.

function issues(text: string, format?: 'json' | 'yaml'): { path: string; message: string }[] {
  try {
    validateDefinition(parseDefinitionText(text, format));
  } catch (e) {
    expect(e).toBeInstanceOf(CohortDefinitionError);
    return (e as CohortDefinitionError).issues;
  }
  throw new Error('expected the definition to be rejected');
}

describe('cohort definitions past the parser bounds', () => {
  test('criteria nested 5,000 deep (a stack overflow in the schema check before)', () => {
    const text = `{"name":"deep","criteria":${'{"all":['.repeat(5000)}{"sex":"MALE"}${']}'.repeat(5000)}}`;
    const [issue] = issues(text);
    expect(issue.message).toBe('nested deeper than 64 levels (limit maxDepth)');
    expect(issue.path.startsWith('/criteria/all/0/all/0')).toBe(true);
  });

  test('a YAML alias inside its own anchor, and aliases of aliases', () => {
    expect(issues('name: loop\ncriteria: &c\n  all: [*c]\n')).toEqual([{ path: '/criteria/all/0', message: 'refers to itself (a YAML alias used inside its own anchor)' }]);
    const lines = ['name: laughs', 'criteria:', '  any:', '    - &l0 {sex: MALE}'];
    for (let i = 1; i <= 30; i++) lines.push(`    - &l${i} {all: [*l${i - 1}, *l${i - 1}]}`);
    expect(issues(lines.join('\n'))[0].message).toMatch(/^more than 100000 values \(YAML aliases count each time they are used/);
  });

  test('a number a double cannot hold, and a lone surrogate', () => {
    expect(issues('{"name":"x","criteria":{"age":{"min":1e999}}}')).toEqual([{ path: '/criteria/age/min', message: 'Infinity is not a finite number' }]);
    expect(issues('{"name":"x","criteria":{"site":"a\\ud800"}}')).toEqual([{ path: '/criteria/site', message: 'contains an unpaired surrogate (not valid Unicode text)' }]);
  });

  test('a byte order mark in front of JSON or YAML is not part of the definition', () => {
    expect(validateDefinition(parseDefinitionText('\ufeff{"name":"x","criteria":{"sex":"MALE"}}')).name).toBe('x');
    expect(validateDefinition(parseDefinitionText('\ufeffname: y\ncriteria: {sex: MALE}\n', 'yaml')).name).toBe('y');
  });
});
