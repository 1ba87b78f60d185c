import type { CypherRunner, CypherStatement } from '../../../src/mirror/index.js';
import { canonical } from '../../../src/mirror/read.js';

// A stand-in for a Neo4j server: it records every statement and applies each kind's documented
// effect to an in-memory property graph, so tests can check what the mirror leaves behind (and
// answer the watermark reads) without a server. The Cypher text itself is checked by Neo4j's parser.

type Props = Record<string, unknown>;
type Row = Record<string, unknown>;
interface Rel { type: string; from: string; to: string; props: Props }

const ref = (label: string, key: unknown): string => `${label}:${String(key)}`;

export class FakeNeo4j implements CypherRunner {
  /** Every call, in order: a read is one statement, a write one transaction. */
  readonly calls: { mode: 'read' | 'write'; statements: CypherStatement[] }[] = [];
  readonly schema = new Set<string>();
  readonly nodes = new Map<string, Props>();
  readonly rels = new Map<string, Rel>();
  /** Relationship keys by start and by end node, so pruning a real-sized graph stays linear. */
  private readonly out = new Map<string, Set<string>>();
  private readonly in = new Map<string, Set<string>>();

  get writes(): CypherStatement[] {
    return this.calls.filter((c) => c.mode === 'write').flatMap((c) => c.statements);
  }

  /** Rows sent per statement kind since call index `from`. */
  rowsByKind(from = 0): Record<string, Row[]> {
    const out: Record<string, Row[]> = {};
    for (const c of this.calls.slice(from)) {
      if (c.mode !== 'write') continue;
      for (const s of c.statements) (out[s.kind] ??= []).push(...((s.params.rows ?? s.params.ids ?? []) as Row[]));
    }
    return out;
  }

  async read(s: CypherStatement): Promise<Record<string, unknown>[]> {
    this.calls.push({ mode: 'read', statements: [s] });
    const all = (label: string) => [...this.nodes].filter(([k]) => k.startsWith(`${label}:`)).map(([, p]) => p);
    if (s.kind === 'read-mirror') {
      const m = this.nodes.get(ref('HarmoniaMirror', s.params.id));
      return m ? [{ store: m.store, generation: m.generation, model: m.model, ontologyHash: m.ontologyHash, vectorDimensions: m.vectorDimensions }] : [];
    }
    if (s.kind === 'read-patients') return all('Patient').map((p) => ({ id: p.id, hash: p.harmoniaHash ?? null }));
    if (s.kind === 'read-records') return all('Record').map((r) => ({ id: r.id, hash: r.harmoniaHash ?? null }));
    throw new Error(`the fake cannot answer a ${s.kind} read`);
  }

  async write(statements: CypherStatement[]): Promise<void> {
    this.calls.push({ mode: 'write', statements });
    for (const s of statements) this.apply(s);
  }

  /** The graph as sorted text (the watermark's timestamp left out), to compare two states. */
  snapshot(): string {
    const nodes = [...this.nodes].map(([k, p]) => [k, k.startsWith('HarmoniaMirror:') ? { ...p, mirroredAt: undefined } : p]).sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1));
    const rels = [...this.rels.keys()].sort().map((k) => [k, this.rels.get(k)!.props]);
    return canonical({ nodes, rels });
  }

  count(label: string): number {
    return [...this.nodes.keys()].filter((k) => k.startsWith(`${label}:`)).length;
  }

  relsOf(type: string, from?: string): Rel[] {
    const keys = from === undefined ? [...this.rels.keys()] : [...(this.out.get(from) ?? [])];
    return keys.map((k) => this.rels.get(k)!).filter((r) => r.type === type);
  }

  private touching(k: string): string[] {
    return [...(this.out.get(k) ?? []), ...(this.in.get(k) ?? [])];
  }

  private deleteRel(rk: string): void {
    const r = this.rels.get(rk);
    if (!r) return;
    this.rels.delete(rk);
    this.out.get(r.from)?.delete(rk);
    this.in.get(r.to)?.delete(rk);
  }

  private merge(label: string, key: string, value: unknown, init: Props = {}): string {
    const k = ref(label, value);
    if (!this.nodes.has(k)) this.nodes.set(k, { [key]: value, ...init });
    return k;
  }

  private relate(type: string, from: string, to: string, props: Props = {}, extraKey = ''): void {
    const k = `${type}|${from}|${to}${extraKey}`;
    const prev = this.rels.get(k);
    this.rels.set(k, { type, from, to, props: { ...(prev?.props ?? {}), ...props } });
    if (!this.out.has(from)) this.out.set(from, new Set());
    if (!this.in.has(to)) this.in.set(to, new Set());
    this.out.get(from)!.add(k);
    this.in.get(to)!.add(k);
  }

  private setProps(k: string, props: Props): void {
    this.nodes.set(k, Object.fromEntries(Object.entries(props).filter(([, v]) => v !== null && v !== undefined)));
  }

  private detachDelete(k: string): void {
    this.nodes.delete(k);
    for (const rk of this.touching(k)) this.deleteRel(rk);
  }

  private dropRels(type: string, from: string, keep: (r: Rel) => boolean): void {
    for (const rk of [...(this.out.get(from) ?? [])]) {
      const r = this.rels.get(rk)!;
      if (r.type === type && !keep(r)) this.deleteRel(rk);
    }
  }

  private apply(s: CypherStatement): void {
    const rows = (s.params.rows ?? []) as Row[];
    const has = (k: string): boolean => this.nodes.has(k);
    const nulls = (p: Props): Props => Object.fromEntries(Object.entries(p).filter(([, v]) => v !== null));
    switch (s.kind) {
      case 'constraint': case 'index': case 'vector-index':
        this.schema.add(s.cypher.split(' ').slice(0, 5).join(' '));
        return;
      case 'drop-vector-index':
        for (const x of this.schema) if (x.includes(s.cypher.split(' ')[2])) this.schema.delete(x);
        return;
      case 'phenotypes': for (const r of rows) this.setProps(this.merge('Phenotype', 'id', r.id), r.props as Props); return;
      case 'is-a':
        for (const r of rows) if (has(ref('Phenotype', r.child)) && has(ref('Phenotype', r.parent))) this.relate('IS_A', ref('Phenotype', r.child), ref('Phenotype', r.parent));
        return;
      case 'prune-is-a':
        for (const r of rows) this.dropRels('IS_A', ref('Phenotype', r.id), (x) => (r.keep as string[]).includes(x.to.slice('Phenotype:'.length)));
        return;
      case 'prune-phenotypes': {
        const keep = new Set(s.params.keep as string[]);
        for (const k of [...this.nodes.keys()].filter((x) => x.startsWith('Phenotype:'))) {
          const used = [...(this.in.get(k) ?? [])].some((rk) => ['HAS_PHENOTYPE', 'HAS_FINDING'].includes(this.rels.get(rk)!.type));
          if (!keep.has(k.slice('Phenotype:'.length)) && !used) this.detachDelete(k);
        }
        return;
      }
      case 'patients': for (const r of rows) this.setProps(this.merge('Patient', 'id', r.id), r.props as Props); return;
      case 'has-phenotype':
        for (const r of rows) {
          if (!has(ref('Patient', r.patient))) continue;
          const t = this.merge('Phenotype', 'id', r.term);
          this.relate('HAS_PHENOTYPE', ref('Patient', r.patient), t, nulls({ excluded: r.excluded, onsetYears: r.onsetYears, onsetClasses: r.onsetClasses }), `|${r.excluded}`);
        }
        return;
      case 'prune-has-phenotype':
        for (const r of rows) this.dropRels('HAS_PHENOTYPE', ref('Patient', r.id), (x) => (r.keep as string[]).includes(`${x.to.slice('Phenotype:'.length)}|${x.props.excluded}`));
        return;
      case 'has-disease':
        for (const r of rows) {
          if (!has(ref('Patient', r.patient))) continue;
          const d = this.merge('Disease', 'id', r.id);
          this.setProps(d, { ...this.nodes.get(d), iri: r.iri, label: r.label });
          this.relate('HAS_DISEASE', ref('Patient', r.patient), d);
        }
        return;
      case 'prune-has-disease':
        for (const r of rows) this.dropRels('HAS_DISEASE', ref('Patient', r.id), (x) => (r.keep as string[]).includes(x.to.slice('Disease:'.length)));
        return;
      case 'has-gene': case 'in-gene':
        for (const r of rows) {
          const from = s.kind === 'has-gene' ? ref('Patient', r.patient) : ref('Variant', r.variant);
          if (!has(from)) continue;
          const g = this.merge('Gene', 'symbol', r.symbol);
          const prev = this.nodes.get(g)!;
          this.setProps(g, { ...prev, id: r.id ?? prev.id });
          this.relate(s.kind === 'has-gene' ? 'HAS_GENE' : 'IN_GENE', from, g);
        }
        return;
      case 'prune-has-gene': case 'prune-in-gene':
        for (const r of rows) {
          const from = s.kind === 'prune-has-gene' ? ref('Patient', r.id) : ref('Variant', r.iri);
          this.dropRels(s.kind === 'prune-has-gene' ? 'HAS_GENE' : 'IN_GENE', from, (x) => (r.keep as string[]).includes(x.to.slice('Gene:'.length)));
        }
        return;
      case 'patient-variants': case 'called-variants':
        for (const r of rows) {
          if (!has(ref('Patient', r.patient)) || (s.kind === 'called-variants' && !has(ref('Record', r.record)))) continue;
          const v = this.merge('Variant', 'iri', r.iri);
          this.setProps(v, r.props as Props);
          this.relate('HAS_VARIANT', ref('Patient', r.patient), v);
          if (s.kind === 'called-variants') this.relate('CALLED_VARIANT', ref('Record', r.record), v);
        }
        return;
      case 'prune-patient-variants':
        for (const r of rows) {
          for (const x of this.relsOf('HAS_VARIANT', ref('Patient', r.id))) {
            const v = this.nodes.get(x.to)!;
            if (v.recordId === undefined && !(r.keep as string[]).includes(String(v.iri))) this.detachDelete(x.to);
          }
        }
        return;
      case 'records':
        for (const r of rows) {
          const p = this.merge('Patient', 'id', r.patient);
          const k = this.merge('Record', 'id', r.id);
          this.setProps(k, r.props as Props);
          this.relate('HAS_RECORD', p, k);
        }
        return;
      case 'has-finding':
        for (const r of rows) if (has(ref('Record', r.record))) this.relate('HAS_FINDING', ref('Record', r.record), this.merge('Phenotype', 'id', r.term));
        return;
      case 'prune-has-finding':
        for (const r of rows) this.dropRels('HAS_FINDING', ref('Record', r.id), (x) => (r.keep as string[]).includes(x.to.slice('Phenotype:'.length)));
        return;
      case 'prune-called-variants':
        for (const r of rows) {
          for (const x of this.relsOf('CALLED_VARIANT', ref('Record', r.id))) if (!(r.keep as string[]).includes(x.to.slice('Variant:'.length))) this.detachDelete(x.to);
        }
        return;
      case 'delete-patients': case 'delete-records': {
        const label = s.kind === 'delete-patients' ? 'Patient' : 'Record';
        for (const id of s.params.ids as string[]) {
          const k = ref(label, id);
          if (!has(k)) continue;
          const owned = label === 'Patient'
            ? this.relsOf('HAS_VARIANT', k).filter((x) => this.nodes.get(x.to)?.recordId === undefined)
            : this.relsOf('CALLED_VARIANT', k);
          for (const x of owned) this.detachDelete(x.to);
          this.detachDelete(k);
        }
        return;
      }
      case 'delete-orphans':
        for (const k of [...this.nodes.keys()]) {
          if ((k.startsWith('Disease:') || k.startsWith('Gene:')) && this.touching(k).length === 0) this.nodes.delete(k);
        }
        return;
      case 'mirror': {
        const k = this.merge('HarmoniaMirror', 'id', s.params.id);
        this.nodes.set(k, { ...this.nodes.get(k), ...(s.params.props as Props) });
        return;
      }
      default:
        throw new Error(`the fake does not know statements of kind ${s.kind}`);
    }
  }
}
