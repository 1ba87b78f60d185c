// Our own compact description of the GA4GH Phenopacket v2 message types (schema release 2.0, the
// protobuf definitions under phenopackets/schema/v2 and the VRSATILE/VRS 1.x messages they use),
// written for checking JSON in the protobuf JSON mapping. One line per message:
//   field:Type        a singular field (proto field name, snake_case)
//   field:Type*       a repeated field (a JSON array)
//   name( ... )       a oneof: at most one of its fields may be set
// Scalar types: string, bool, int32, uint32, int64, uint64, double, timestamp (google.protobuf.Timestamp),
// strmap (map<string, string>). Every other type names a message below or an enum in ENUMS.

const MESSAGES: Record<string, string> = {
  Phenopacket:
    'id:string subject:Individual phenotypic_features:PhenotypicFeature* measurements:Measurement* biosamples:Biosample* ' +
    'interpretations:Interpretation* diseases:Disease* medical_actions:MedicalAction* files:File* meta_data:MetaData',
  // base.proto
  OntologyClass: 'id:string label:string',
  ExternalReference: 'id:string reference:string description:string',
  Evidence: 'evidence_code:OntologyClass reference:ExternalReference',
  Procedure: 'code:OntologyClass body_site:OntologyClass performed:TimeElement',
  GestationalAge: 'weeks:int32 days:int32',
  Age: 'iso8601duration:string',
  AgeRange: 'start:Age end:Age',
  TimeInterval: 'start:timestamp end:timestamp',
  TimeElement: 'element( gestational_age:GestationalAge age:Age age_range:AgeRange ontology_class:OntologyClass timestamp:timestamp interval:TimeInterval )',
  File: 'uri:string individual_to_file_identifiers:strmap file_attributes:strmap',
  // individual.proto
  Individual:
    'id:string alternate_ids:string* date_of_birth:timestamp time_at_last_encounter:TimeElement vital_status:VitalStatus ' +
    'sex:Sex karyotypic_sex:KaryotypicSex gender:OntologyClass taxonomy:OntologyClass',
  VitalStatus: 'status:VitalStatus.Status time_of_death:TimeElement cause_of_death:OntologyClass survival_time_in_days:uint32',
  // phenotypic_feature.proto, disease.proto
  PhenotypicFeature:
    'description:string type:OntologyClass excluded:bool severity:OntologyClass modifiers:OntologyClass* onset:TimeElement ' +
    'resolution:TimeElement evidence:Evidence*',
  Disease:
    'term:OntologyClass excluded:bool onset:TimeElement resolution:TimeElement disease_stage:OntologyClass* ' +
    'clinical_tnm_finding:OntologyClass* primary_site:OntologyClass laterality:OntologyClass',
  // interpretation.proto
  Interpretation: 'id:string progress_status:Interpretation.ProgressStatus diagnosis:Diagnosis summary:string',
  Diagnosis: 'disease:OntologyClass genomic_interpretations:GenomicInterpretation*',
  GenomicInterpretation:
    'subject_or_biosample_id:string interpretation_status:GenomicInterpretation.InterpretationStatus ' +
    'call( gene:GeneDescriptor variant_interpretation:VariantInterpretation )',
  VariantInterpretation:
    'acmg_pathogenicity_classification:AcmgPathogenicityClassification therapeutic_actionability:TherapeuticActionability ' +
    'variation_descriptor:VariationDescriptor',
  // biosample.proto
  Biosample:
    'id:string individual_id:string derived_from_id:string description:string sampled_tissue:OntologyClass ' +
    'sample_type:OntologyClass phenotypic_features:PhenotypicFeature* measurements:Measurement* taxonomy:OntologyClass ' +
    'time_of_collection:TimeElement histological_diagnosis:OntologyClass tumor_progression:OntologyClass ' +
    'tumor_grade:OntologyClass pathological_stage:OntologyClass pathological_tnm_finding:OntologyClass* ' +
    'diagnostic_markers:OntologyClass* procedure:Procedure files:File* material_sample:OntologyClass ' +
    'sample_processing:OntologyClass sample_storage:OntologyClass',
  // measurement.proto
  Measurement:
    'description:string assay:OntologyClass measurement_value( value:Value complex_value:ComplexValue ) ' +
    'time_observed:TimeElement procedure:Procedure',
  Value: 'value( quantity:Quantity ontology_class:OntologyClass )',
  ComplexValue: 'typed_quantities:TypedQuantity*',
  Quantity: 'unit:OntologyClass value:double reference_range:ReferenceRange',
  TypedQuantity: 'type:OntologyClass quantity:Quantity',
  ReferenceRange: 'unit:OntologyClass low:double high:double',
  // medical_action.proto
  MedicalAction:
    'action( procedure:Procedure treatment:Treatment radiation_therapy:RadiationTherapy therapeutic_regimen:TherapeuticRegimen ) ' +
    'treatment_target:OntologyClass treatment_intent:OntologyClass response_to_treatment:OntologyClass ' +
    'adverse_events:OntologyClass* treatment_termination_reason:OntologyClass',
  Treatment: 'agent:OntologyClass route_of_administration:OntologyClass dose_intervals:DoseInterval* drug_type:DrugType cumulative_dose:Quantity',
  DoseInterval: 'quantity:Quantity schedule_frequency:OntologyClass interval:TimeInterval',
  RadiationTherapy: 'modality:OntologyClass body_site:OntologyClass dosage:int32 fractions:int32',
  TherapeuticRegimen:
    'identifier( external_reference:ExternalReference ontology_class:OntologyClass ) start_time:TimeElement end_time:TimeElement ' +
    'regimen_status:TherapeuticRegimen.RegimenStatus',
  // meta_data.proto
  MetaData:
    'created:timestamp created_by:string submitted_by:string resources:Resource* updates:Update* ' +
    'phenopacket_schema_version:string external_references:ExternalReference*',
  Resource: 'id:string name:string url:string version:string namespace_prefix:string iri_prefix:string',
  Update: 'timestamp:timestamp updated_by:string comment:string',
  // pedigree.proto (used by Family, described for completeness of the core messages)
  'Pedigree.Person': 'family_id:string individual_id:string paternal_id:string maternal_id:string sex:Sex affected_status:Pedigree.Person.AffectedStatus',
  Pedigree: 'persons:Pedigree.Person*',
  // VRSATILE v1
  Extension: 'name:string value:string',
  Expression: 'syntax:string value:string version:string',
  VcfRecord: 'genome_assembly:string chrom:string pos:uint64 id:string ref:string alt:string qual:string filter:string info:string',
  VariationDescriptor:
    'id:string variation:Variation label:string description:string gene_context:GeneDescriptor expressions:Expression* ' +
    'vcf_record:VcfRecord xrefs:string* alternate_labels:string* extensions:Extension* molecule_context:MoleculeContext ' +
    'structural_type:OntologyClass vrs_ref_allele_seq:string allelic_state:OntologyClass',
  GeneDescriptor: 'value_id:string symbol:string description:string alternate_ids:string* alternate_symbols:string* xrefs:string*',
  // VRS 1.x as protobuf messages
  Variation: 'variation( allele:Allele haplotype:Haplotype copy_number:CopyNumber text:Text variation_set:VariationSet )',
  Allele:
    '_id:string location( curie:string chromosome_location:ChromosomeLocation sequence_location:SequenceLocation ) ' +
    'state( sequence_state:SequenceState literal_sequence_expression:LiteralSequenceExpression ' +
    'derived_sequence_expression:DerivedSequenceExpression repeated_sequence_expression:RepeatedSequenceExpression )',
  'Haplotype.Member': 'value( allele:Allele curie:string )',
  Haplotype: '_id:string members:Haplotype.Member*',
  Text: '_id:string definition:string',
  'VariationSet.Member': 'value( curie:string allele:Allele haplotype:Haplotype copy_number:CopyNumber text:Text variation_set:VariationSet )',
  VariationSet: '_id:string members:VariationSet.Member*',
  CopyNumber:
    '_id:string subject( allele:Allele haplotype:Haplotype gene:Gene literal_sequence_expression:LiteralSequenceExpression ' +
    'derived_sequence_expression:DerivedSequenceExpression repeated_sequence_expression:RepeatedSequenceExpression curie:string ) ' +
    'copies( number:Number indefinite_range:IndefiniteRange definite_range:DefiniteRange )',
  ChromosomeLocation: '_id:string species_id:string chr:string interval:CytobandInterval',
  SequenceLocation: '_id:string sequence_id:string interval( sequence_interval:SequenceInterval simple_interval:SimpleInterval )',
  SequenceInterval:
    'start( start_number:Number start_indefinite_range:IndefiniteRange start_definite_range:DefiniteRange ) ' +
    'end( end_number:Number end_indefinite_range:IndefiniteRange end_definite_range:DefiniteRange )',
  CytobandInterval: 'start:string end:string',
  LiteralSequenceExpression: 'sequence:string',
  DerivedSequenceExpression: 'location:SequenceLocation reverse_complement:bool',
  RepeatedSequenceExpression:
    'seq_expr( literal_sequence_expression:LiteralSequenceExpression derived_sequence_expression:DerivedSequenceExpression ) ' +
    'count( number:Number indefinite_range:IndefiniteRange definite_range:DefiniteRange )',
  Gene: 'gene_id:string',
  Number: 'value:uint64',
  IndefiniteRange: 'value:uint64 comparator:string',
  DefiniteRange: 'min:uint64 max:uint64',
  SequenceState: 'sequence:string',
  SimpleInterval: 'start:uint64 end:uint64',
};

/** Enum value names in the order of their numbers (every enum here numbers its values 0, 1, 2, ...). */
export const ENUMS: Record<string, readonly string[]> = {
  Sex: ['UNKNOWN_SEX', 'FEMALE', 'MALE', 'OTHER_SEX'],
  KaryotypicSex: ['UNKNOWN_KARYOTYPE', 'XX', 'XY', 'XO', 'XXY', 'XXX', 'XXYY', 'XXXY', 'XXXX', 'XYY', 'OTHER_KARYOTYPE'],
  'VitalStatus.Status': ['UNKNOWN_STATUS', 'ALIVE', 'DECEASED'],
  'Interpretation.ProgressStatus': ['UNKNOWN_PROGRESS', 'IN_PROGRESS', 'COMPLETED', 'SOLVED', 'UNSOLVED'],
  'GenomicInterpretation.InterpretationStatus': ['UNKNOWN_STATUS', 'REJECTED', 'CANDIDATE', 'CONTRIBUTORY', 'CAUSATIVE'],
  AcmgPathogenicityClassification: ['NOT_PROVIDED', 'BENIGN', 'LIKELY_BENIGN', 'UNCERTAIN_SIGNIFICANCE', 'LIKELY_PATHOGENIC', 'PATHOGENIC'],
  TherapeuticActionability: ['UNKNOWN_ACTIONABILITY', 'NOT_ACTIONABLE', 'ACTIONABLE'],
  DrugType: ['UNKNOWN_DRUG_TYPE', 'PRESCRIPTION', 'EHR_MEDICATION_LIST', 'ADMINISTRATION_RELATED_TO_PROCEDURE'],
  'TherapeuticRegimen.RegimenStatus': ['UNKNOWN_STATUS', 'STARTED', 'COMPLETED', 'DISCONTINUED'],
  'Pedigree.Person.AffectedStatus': ['MISSING', 'UNAFFECTED', 'AFFECTED'],
  MoleculeContext: ['unspecified_molecule_context', 'genomic', 'transcript', 'protein'],
};

export const SCALARS = ['string', 'bool', 'int32', 'uint32', 'int64', 'uint64', 'double', 'timestamp', 'strmap'] as const;
export type Scalar = (typeof SCALARS)[number];

export interface FieldSpec {
  /** The proto field name (snake_case); protobuf JSON parsers accept it as well as the JSON name. */
  proto: string;
  /** The JSON name (lowerCamelCase), which printers write. */
  json: string;
  type: string;
  repeated: boolean;
  oneof?: string;
}

export interface MessageSpec {
  name: string;
  /** By JSON name and by proto name. */
  fields: Map<string, FieldSpec>;
  oneofs: Map<string, FieldSpec[]>;
}

/** The protobuf JSON name of a field: underscores dropped, the letter after each one upper-cased. */
export function jsonName(proto: string): string {
  return proto.replace(/_([a-z0-9]?)/g, (_, c: string) => c.toUpperCase());
}

function parseMessage(name: string, text: string): MessageSpec {
  const fields = new Map<string, FieldSpec>();
  const oneofs = new Map<string, FieldSpec[]>();
  let group: string | undefined;
  for (const token of text.trim().split(/\s+/)) {
    if (token.endsWith('(')) {
      group = token.slice(0, -1);
      oneofs.set(group, []);
      continue;
    }
    if (token === ')') {
      group = undefined;
      continue;
    }
    const m = /^([a-z_][a-z0-9_]*):([A-Za-z0-9.]+)(\*?)$/.exec(token);
    if (!m) throw new Error(`phenopacket schema: bad field ${token} in ${name}`);
    const spec: FieldSpec = { proto: m[1], json: jsonName(m[1]), type: m[2], repeated: m[3] === '*', oneof: group };
    fields.set(spec.json, spec);
    fields.set(spec.proto, spec);
    if (group) oneofs.get(group)!.push(spec);
  }
  return { name, fields, oneofs };
}

export const SCHEMA: ReadonlyMap<string, MessageSpec> = new Map(Object.entries(MESSAGES).map(([n, t]) => [n, parseMessage(n, t)]));

// Every type a field names must be described: a typo in the table above fails at load, not on a record.
for (const m of SCHEMA.values()) {
  for (const f of m.fields.values()) {
    if (!SCHEMA.has(f.type) && !(f.type in ENUMS) && !(SCALARS as readonly string[]).includes(f.type)) throw new Error(`phenopacket schema: ${m.name}.${f.proto} has unknown type ${f.type}`);
  }
}
