import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Parser, type Quad } from 'n3';
import { compileShapes, Unsupported } from './compile.js';
import { CompiledValidator } from './compiled.js';
import { ReferenceEngine } from './reference.js';
import type { ValidationResult, Violation } from './types.js';

export type { ValidationResult, Violation } from './types.js';

/** Which implementation validates: the compiled subset of SHACL Core, or rdf-validate-shacl. */
export type EngineName = 'compiled' | 'rdf-validate-shacl';

export interface ShapeValidatorOptions {
  /**
   * `auto` (default): compiled when the shapes stay within its subset, else the reference;
   * `reference`: always rdf-validate-shacl (full SHACL Core, slow);
   * `compiled`: always compiled, throwing when the shapes use anything outside the subset.
   */
  engine?: 'auto' | 'reference' | 'compiled';
}

/** shapes/ at the repository root, found from this file both in src/ (tests) and dist/src/ (built). */
export function defaultShapesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'shapes');
    try {
      readFileSync(join(candidate, 'harmonia.shacl.ttl'));
      return candidate;
    } catch {
      dir = dirname(dir);
    }
  }
  throw new Error('shapes/harmonia.shacl.ttl not found next to the installation');
}

/** What validateEach returns: the violations of each record, and the records the validator failed on. */
export interface BatchValidation {
  /** By record index, only records that have some. */
  violations: Map<number, Violation[]>;
  /** By record index: why the validator threw on that record (it cannot be judged, so it is not stored). */
  failed: Map<number, string>;
}

export class ShapeValidator {
  readonly engine: EngineName;
  /** Why the compiled engine was not used, when the shapes fall outside its subset. */
  readonly fallbackReason?: string;
  private readonly compiled?: CompiledValidator;
  private readonly reference?: ReferenceEngine;

  constructor(shapesTurtle: string, source = 'shapes', options: ShapeValidatorOptions = {}) {
    let quads: Quad[];
    try {
      quads = new Parser().parse(shapesTurtle);
    } catch (e) {
      throw new Error(`${source}: invalid Turtle: ${(e as Error).message}`);
    }
    const mode = options.engine ?? 'auto';
    if (mode !== 'reference') {
      try {
        this.compiled = new CompiledValidator(compileShapes(quads));
      } catch (e) {
        if (mode === 'compiled') throw new Error(`${source}: ${(e as Error).message}`);
        // Anything the compiler cannot handle, expected (Unsupported) or not, is the reference's job.
        this.fallbackReason = e instanceof Unsupported ? e.message : `compiler error: ${(e as Error).message}`;
      }
    }
    if (!this.compiled) this.reference = new ReferenceEngine(quads);
    this.engine = this.compiled ? 'compiled' : 'rdf-validate-shacl';
  }

  static fromFile(file = join(defaultShapesDir(), 'harmonia.shacl.ttl'), options: ShapeValidatorOptions = {}): ShapeValidator {
    return new ShapeValidator(readFileSync(file, 'utf8'), file, options);
  }

  /** Validates the triples of one record (one patient graph); graph names are ignored. */
  async validate(quads: Quad[]): Promise<ValidationResult> {
    const violations = this.compiled ? this.compiled.validate(quads) : await this.reference!.violations([quads]);
    return { conforms: violations.length === 0, violations };
  }

  /**
   * Validates many records and returns the violations of each record (only those that have some)
   * by its index. Records must not share subjects: the reference engine validates them as one
   * graph (its per-call set-up dominates for small records), the compiled one each on its own.
   */
  async validateMany(records: Quad[][]): Promise<Map<number, Violation[]>> {
    if (this.compiled) return this.compiledMany(this.compiled, records);
    const owner = new Map<string, number>();
    records.forEach((quads, i) => {
      for (const q of quads) owner.set(q.subject.value, i);
    });
    const out = new Map<number, Violation[]>();
    for (const v of await this.reference!.violations(records)) {
      const i = owner.get(v.focusNode);
      if (i === undefined) throw new Error(`SHACL violation on ${v.focusNode}, which belongs to no record: ${v.message}`);
      const list = out.get(i) ?? [];
      list.push(v);
      out.set(i, list);
    }
    return out;
  }

  /**
   * validateMany, except that an exception never sinks the batch: when validating the records together
   * throws, each is validated on its own, and those that still throw are reported in `failed` with the
   * reason, naming the validator stage, while the others are judged as usual.
   */
  async validateEach(records: Quad[][]): Promise<BatchValidation> {
    try {
      return { violations: await this.validateMany(records), failed: new Map() };
    } catch {
      const violations = new Map<number, Violation[]>();
      const failed = new Map<number, string>();
      for (let i = 0; i < records.length; i++) {
        try {
          const found = (await this.validateMany([records[i]])).get(0);
          if (found?.length) violations.set(i, found);
        } catch (e) {
          failed.set(i, `SHACL validation (${this.engine} engine) failed on this record: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
      return { violations, failed };
    }
  }

  private compiledMany(compiled: CompiledValidator, records: Quad[][]): Map<number, Violation[]> {
    const out = new Map<number, Violation[]>();
    records.forEach((quads, i) => {
      const violations = compiled.validate(quads);
      if (violations.length) out.set(i, violations);
    });
    return out;
  }
}
