import { join } from 'node:path';
import { HarmonizeContext, loadHarmonizationConfig } from '../../../src/harmonize/dispatch.js';
import { vcfCandidateGenes } from '../../../src/harmonize/genomic.js';
import { loadOntology } from '../../../src/ontology/index.js';
import { buildDiagnosisContext, diagnose, loadGenesToPhenotype, loadHpoa, profileFromHpoList } from '../../../src/retrieve/index.js';
import { dataDir } from '../../helpers/paths.js';

const data = dataDir();
const describeWithData = data ? describe : describe.skip;
if (!data) console.warn('diagnose --vcf integration test skipped: no data directory (../shared/data or HARMONIA_DATA)');

describeWithData('disease and gene ranking with a VCF as gene evidence (harmonia diagnose --vcf)', () => {
  test('the Pfeiffer exome with its four HPO terms: FGFR2 and OMIM:101600 come first', async () => {
    const D = data!;
    const config = loadHarmonizationConfig(undefined, D);
    const genes = await vcfCandidateGenes(join(D, 'genomics/exomiser/Pfeiffer.vcf.gz'), await new HarmonizeContext(config).genomicReferences(), config.genomic);
    const fgfr2 = genes.find((g) => g.symbol === 'FGFR2')!;
    expect(fgfr2.calls.map((c) => `${c.chrom}:${c.pos} ${c.ref}>${c.alt}`)).toContain('10:123256215 T>G');
    const ontology = loadOntology(join(D, 'ontologies/hp.v2024-04-26.json.gz'));
    const ctx = buildDiagnosisContext(ontology, loadHpoa(join(D, 'annotations/phenotype.hpoa.gz'), ontology), loadGenesToPhenotype(join(D, 'annotations/genes_to_phenotype.txt.gz')));
    const { profile, issues } = profileFromHpoList(['HP:0001156', 'HP:0001363', 'HP:0011304', 'HP:0010055'], ontology);
    const r = diagnose(ctx, profile, { top: 5, evidenceGenes: genes.map((g) => g.symbol) }, issues);
    expect(r.method).toBe('bayes-lr+genes');
    expect(r.results[0].disease).toBe('OMIM:101600');
    expect(r.genes![0]).toMatchObject({ gene: 'FGFR2', disease: 'OMIM:101600' });
    // The VCF's genes are evidence: Pfeiffer syndrome is more probable with them than from the four terms alone.
    const alone = diagnose(ctx, profile, { top: 5 }, issues).results.find((x) => x.disease === 'OMIM:101600');
    expect(r.results[0].probability!).toBeGreaterThan(alone?.probability ?? 0);
    // Under the older likelihood ratio the phenotypes alone do not put it first: there the VCF decides.
    expect(diagnose(ctx, profile, { top: 1, method: 'lr' }, issues).results[0].disease).not.toBe('OMIM:101600');
    expect(diagnose(ctx, profile, { top: 1, method: 'lr', evidenceGenes: genes.map((g) => g.symbol) }, issues).results[0].disease).toBe('OMIM:101600');
  }, 180_000);
});
