import { HX, compiledEngine, keys, referenceEngine, str, typed, validPatient } from './helpers.js';

// Long value lists (past the compiled engine's scan limit, where it switches to a set of keys) must keep
// the data graph a set of triples: duplicates count once, terms differing only in kind or datatype twice.

describe('compiled engine on records with long value lists', () => {
  const compiled = compiledEngine();
  const reference = referenceEngine();
  const both = async (quads: Parameters<typeof compiled.validate>[0]) => [keys((await compiled.validate(quads)).violations), keys((await reference.validate(quads)).violations)];

  test('every triple twice, and one value repeated 40 times: still conforms, as in the reference', async () => {
    const g = validPatient('LONG-1');
    for (let i = 10; i < 60; i++) g.feature(i, String(1000000 + i));
    g.without('sex');
    for (let i = 0; i < 40; i++) g.hx(g.P, 'sex', str('FEMALE'));
    g.quads.push(...g.quads.slice());
    const [ours, anchor] = await both(g.quads);
    expect(ours).toEqual([]);
    expect(ours).toEqual(anchor);
  });

  test('a different value after 40 repeats is a second value: maxCount fails in both engines', async () => {
    const g = validPatient('LONG-2');
    g.without('sex');
    for (let i = 0; i < 40; i++) g.hx(g.P, 'sex', str('FEMALE'));
    g.hx(g.P, 'sex', str('MALE'));
    const [ours, anchor] = await both(g.quads);
    expect(ours.some((k) => k.includes(`${HX}sex`) && k.includes('MaxCount'))).toBe(true);
    expect(ours).toEqual(anchor);
  });

  test('the same text with another datatype is another term, past the scan limit too', async () => {
    const g = validPatient('LONG-3');
    g.without('sex');
    for (let i = 0; i < 20; i++) g.hx(g.P, 'sex', str('FEMALE'));
    g.hx(g.P, 'sex', typed('FEMALE', 'token'));
    const [ours, anchor] = await both(g.quads);
    expect(ours.some((k) => k.includes(`${HX}sex`) && k.includes('MaxCount'))).toBe(true);
    expect(ours).toEqual(anchor);
  });
});
