// GA4GH Phenopacket v2 as it arrives in JSON (camelCase, the protobuf JSON mapping).
// Only the parts the graph uses are typed; everything is optional because real files vary.

export interface OntologyClass { id: string; label?: string }
export interface Age { iso8601duration: string }
export interface GestationalAge { weeks: number; days?: number }
export interface TimeElement {
  age?: Age;
  ageRange?: { start?: { age?: Age }; end?: { age?: Age } };
  gestationalAge?: GestationalAge;
  ontologyClass?: OntologyClass;
  timestamp?: string;
  interval?: { start?: string; end?: string };
}
export interface ExternalReference { id?: string; reference?: string; description?: string }
export interface Evidence { evidenceCode?: OntologyClass; reference?: ExternalReference }

export interface PhenotypicFeature {
  type: OntologyClass;
  description?: string;
  excluded?: boolean;
  severity?: OntologyClass;
  modifiers?: OntologyClass[];
  onset?: TimeElement;
  resolution?: TimeElement;
  evidence?: Evidence[];
}

export interface Individual {
  id: string;
  alternateIds?: string[];
  dateOfBirth?: string;
  timeAtLastEncounter?: TimeElement;
  vitalStatus?: { status?: string; timeOfDeath?: TimeElement; causeOfDeath?: OntologyClass };
  sex?: string;
  karyotypicSex?: string;
  gender?: OntologyClass;
  taxonomy?: OntologyClass;
}

export interface Disease {
  term: OntologyClass;
  excluded?: boolean;
  onset?: TimeElement;
  resolution?: TimeElement;
  diseaseStage?: OntologyClass[];
  clinicalTnmFinding?: OntologyClass[];
  primarySite?: OntologyClass;
  laterality?: OntologyClass;
}

export interface VcfRecord {
  genomeAssembly?: string;
  chrom?: string;
  pos?: number | string;
  id?: string;
  ref?: string;
  alt?: string;
  qual?: string;
  filter?: string;
  info?: string;
}
export interface Expression { syntax: string; value: string; version?: string }
export interface VariationDescriptor {
  id?: string;
  label?: string;
  description?: string;
  geneContext?: { valueId?: string; symbol?: string };
  expressions?: Expression[];
  vcfRecord?: VcfRecord;
  moleculeContext?: string;
  structuralType?: OntologyClass;
  allelicState?: OntologyClass;
}
export interface GenomicInterpretation {
  subjectOrBiosampleId?: string;
  interpretationStatus?: string;
  gene?: { valueId?: string; symbol?: string };
  variantInterpretation?: {
    acmgPathogenicityClassification?: string;
    therapeuticActionability?: string;
    variationDescriptor?: VariationDescriptor;
  };
}
export interface Interpretation {
  id?: string;
  progressStatus?: string;
  diagnosis?: { disease?: OntologyClass; genomicInterpretations?: GenomicInterpretation[] };
  summary?: string;
}

export interface Measurement {
  description?: string;
  assay?: OntologyClass;
  value?: { quantity?: { unit?: OntologyClass; value?: number; referenceRange?: { unit?: OntologyClass; low?: number; high?: number } }; ontologyClass?: OntologyClass };
  complexValue?: unknown;
  timeObserved?: TimeElement;
  procedure?: { code?: OntologyClass };
}

export interface File { uri?: string; individualToFileIdentifiers?: Record<string, string>; fileAttributes?: Record<string, string> }

export interface Biosample {
  id?: string;
  individualId?: string;
  description?: string;
  sampledTissue?: OntologyClass;
  sampleType?: OntologyClass;
  phenotypicFeatures?: PhenotypicFeature[];
  measurements?: Measurement[];
  timeOfCollection?: TimeElement;
  histologicalDiagnosis?: OntologyClass;
  files?: File[];
}

export interface Resource { id?: string; name?: string; url?: string; version?: string; namespacePrefix?: string; iriPrefix?: string }

export interface MetaData {
  created?: string;
  createdBy?: string;
  submittedBy?: string;
  resources?: Resource[];
  phenopacketSchemaVersion?: string;
  externalReferences?: ExternalReference[];
}

export interface Phenopacket {
  id: string;
  subject?: Individual;
  phenotypicFeatures?: PhenotypicFeature[];
  measurements?: Measurement[];
  biosamples?: Biosample[];
  interpretations?: Interpretation[];
  diseases?: Disease[];
  medicalActions?: unknown[];
  files?: File[];
  metaData?: MetaData;
}
