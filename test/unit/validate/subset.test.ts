// The rest of the compiled subset (features our shapes do not use) against the reference, and the
// fallback to rdf-validate-shacl for shapes outside the subset.
import { Parser } from 'n3';
import { ShapeValidator } from '../../../src/validate/index.js';
import { keys } from './helpers.js';

const PREFIXES = `
@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <http://example.org/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
`;

const SHAPES = `${PREFIXES}
ex:ThingShape a sh:NodeShape ; sh:targetClass ex:Thing ;
  sh:nodeKind sh:IRI ;
  sh:property [ sh:path ex:code ; sh:pattern "^ab" ; sh:flags "i" ; sh:maxLength 4 ; sh:severity sh:Warning ] ;
  sh:property [ sh:path ex:score ; sh:minExclusive 0 ; sh:maxExclusive 10.5 ; sh:message "score must be > {$minExclusive}" ] ;
  sh:property [ sh:path ex:tag ; sh:hasValue "core" ; sh:severity sh:Info ] ;
  sh:property [ sh:path ex:link ; sh:nodeKind sh:BlankNodeOrIRI ; sh:class ex:Thing ] ;
  sh:property [ sh:path ex:lit ; sh:nodeKind sh:IRIOrLiteral ; sh:datatype xsd:int ] ;
  sh:property [ sh:path ex:off ; sh:minCount 1 ; sh:deactivated true ] ;
  sh:property [ sh:path [ sh:inversePath ex:owns ] ; sh:maxCount 1 ; sh:class ex:Owner ] ;
  sh:property [ sh:path ex:when ; sh:datatype xsd:dateTime ] ;
  sh:property [ sh:path ex:part ; sh:property [ sh:path ex:label ; sh:minCount 1 ] ] .
ex:OffShape a sh:NodeShape ; sh:targetClass ex:Thing ; sh:deactivated true ; sh:property [ sh:path ex:never ; sh:minCount 1 ] .
ex:Ref sh:targetClass ex:Ref ; sh:hasValue ex:theRef .
`;

const DATA = `@prefix ex: <http://example.org/> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:SubThing rdfs:subClassOf ex:Thing . ex:SubSub rdfs:subClassOf ex:SubThing . ex:Heir rdfs:subClassOf ex:Owner .
ex:a a ex:Thing ; ex:code "ABcd", "xyz", "abcdef", <http://ab.org/> ; ex:score 1, 0, 10.5, "3", "7"^^xsd:integer, 1e1 ;
  ex:tag "core" ; ex:link ex:b, _:c, "lit" ; ex:lit "5"^^xsd:int, "2147483649"^^xsd:int, ex:i ;
  ex:when "2020-01-01T00:00:00Z"^^xsd:dateTime, "2020-01-01"^^xsd:dateTime ; ex:part ex:p1, ex:p2 .
ex:p1 ex:label "one" .
ex:b a ex:SubSub ; ex:tag "other" .
_:c a ex:Other .
_:blank a ex:Thing ; ex:tag "core" .
ex:o1 a ex:Owner ; ex:owns ex:a . ex:o2 a ex:Heir ; ex:owns ex:b . ex:o3 ex:owns ex:b .
ex:theRef a ex:Ref . ex:notRef a ex:Ref .
`;

const parse = (ttl: string) => new Parser().parse(ttl);

describe('compiled subset beyond the project shapes', () => {
  it('agrees with the reference on every supported constraint', async () => {
    const compiled = new ShapeValidator(SHAPES, 'test', { engine: 'compiled' });
    const reference = new ShapeValidator(SHAPES, 'test', { engine: 'reference' });
    const data = parse(DATA);
    const [c, r] = await Promise.all([compiled.validate(data), reference.validate(data)]);
    // Blank-node result paths (inverse paths) are labelled per parse; compare them as one label.
    const norm = (ks: string[]) => ks.map((k) => k.replace(/ \| n3-\d+ \| /, ' | <inverse> | '));
    expect(norm(keys(c.violations))).toEqual(norm(keys(r.violations)));
    const components = new Set(c.violations.map((v) => v.constraint));
    for (const expected of ['Pattern', 'MaxLength', 'MinExclusive', 'MaxExclusive', 'HasValue', 'Class', 'NodeKind', 'Datatype', 'MaxCount', 'MinCount']) {
      expect(components).toContain(`${expected}ConstraintComponent`);
    }
    expect(c.violations.some((v) => v.path === 'http://example.org/off' || v.path === 'http://example.org/never')).toBe(false);
    // {$param} is filled from the violated constraint's own parameters, as the reference does.
    const scoreMessage = (vs: typeof c.violations) => vs.find((v) => v.constraint === 'MinExclusiveConstraintComponent')?.message;
    expect(scoreMessage(c.violations)).toBe('score must be > 0');
    expect(scoreMessage(r.violations)).toBe('score must be > 0');
    expect(new Set(c.violations.map((v) => v.severity))).toEqual(new Set(['Violation', 'Warning', 'Info']));
    expect(c.violations.some((v) => v.path?.startsWith('n3-') && v.constraint === 'MaxCountConstraintComponent')).toBe(true);
  });

  it('follows XSD for xsd:int bounds, where the reference is off by one', async () => {
    // rdf-validate-datatype accepts -2147483647..2147483648; XSD says -2147483648..2147483647.
    const compiled = new ShapeValidator(SHAPES, 'test', { engine: 'compiled' });
    const data = parse(`@prefix ex: <http://example.org/> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
      ex:a a ex:Thing ; ex:tag "core" ; ex:lit "2147483648"^^xsd:int, "-2147483648"^^xsd:int .`);
    const { violations } = await compiled.validate(data);
    expect(violations.map((v) => v.value)).toEqual(['2147483648']);
  });
});

const UNSUPPORTED: Record<string, string> = {
  'sh:or': 'ex:S sh:targetClass ex:T ; sh:or ( [ sh:datatype xsd:string ] [ sh:datatype xsd:integer ] ) .',
  'sh:node': 'ex:S sh:targetClass ex:T ; sh:property [ sh:path ex:p ; sh:node ex:Other ] . ex:Other sh:property [ sh:path ex:q ; sh:minCount 1 ] .',
  'sh:targetNode': 'ex:S sh:targetNode ex:x ; sh:property [ sh:path ex:p ; sh:minCount 1 ] .',
  'sh:targetSubjectsOf': 'ex:S sh:targetSubjectsOf ex:q ; sh:property [ sh:path ex:p ; sh:minCount 1 ] .',
  'sequence path': 'ex:S sh:targetClass ex:T ; sh:property [ sh:path ( ex:p ex:q ) ; sh:minCount 1 ] .',
  'sh:qualifiedValueShape': 'ex:S sh:targetClass ex:T ; sh:property [ sh:path ex:p ; sh:qualifiedValueShape [ sh:datatype xsd:string ] ; sh:qualifiedMinCount 1 ] .',
  'sh:sparql': 'ex:S sh:targetClass ex:T ; sh:sparql [ sh:select "SELECT $this WHERE { }" ] .',
  'unknown XSD datatype': 'ex:S sh:targetClass ex:T ; sh:property [ sh:path ex:p ; sh:datatype xsd:gYear ] .',
  'sh:closed': 'ex:S sh:targetClass ex:T ; sh:closed true ; sh:property [ sh:path ex:p ] .',
};

describe('shapes outside the compiled subset', () => {
  it.each(Object.entries(UNSUPPORTED))('%s falls back to rdf-validate-shacl', async (feature, shape) => {
    const v = new ShapeValidator(PREFIXES + shape, 'custom');
    expect(v.engine).toBe('rdf-validate-shacl');
    expect(v.fallbackReason).toBeTruthy();
    expect(() => new ShapeValidator(PREFIXES + shape, 'custom', { engine: 'compiled' })).toThrow(/custom/);
  });

  it('still validates correctly after falling back', async () => {
    const v = new ShapeValidator(UNSUPPORTED['sh:or'] && PREFIXES + UNSUPPORTED['sh:or'], 'custom');
    const data = parse(`@prefix ex: <http://example.org/> . ex:x a ex:T . ex:y a ex:T .`);
    // A node shape's sh:or applies to the focus node: IRIs are neither strings nor integers.
    const result = await v.validate(data);
    expect(result.violations.map((x) => x.constraint)).toEqual(['OrConstraintComponent', 'OrConstraintComponent']);
  });

  it('compiles the project shapes by default and honours { engine: "reference" }', () => {
    expect(ShapeValidator.fromFile().engine).toBe('compiled');
    expect(ShapeValidator.fromFile(undefined, { engine: 'reference' }).engine).toBe('rdf-validate-shacl');
  });
});
