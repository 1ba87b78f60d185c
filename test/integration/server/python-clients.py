"""Drives a Harmonia SPARQL endpoint with SPARQLWrapper and rdflib, each with its default settings.

Usage: python3 python-clients.py ENDPOINT PATIENT_IRI; prints one JSON object with what each client got.
"""
import json
import sys

import rdflib
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import SPARQLWrapper

endpoint, patient = sys.argv[1], sys.argv[2]
HX = 'https://w3id.org/harmonia/vocab#'
SELECT = f'PREFIX hx: <{HX}> SELECT ?id WHERE {{ ?p a hx:Patient ; hx:id ?id }} ORDER BY ?id LIMIT 5'
ASK = f'ASK {{ <{patient}> a <{HX}Patient> }}'
CONSTRUCT = f'CONSTRUCT {{ ?p <{HX}id> ?id }} WHERE {{ ?p a <{HX}Patient> ; <{HX}id> ?id }} ORDER BY ?id LIMIT 5'
DESCRIBE = f'DESCRIBE <{patient}>'
out = {}

# SPARQLWrapper: default return format XML (SPARQL results XML; RDF/XML for graphs, parsed by rdflib).
w = SPARQLWrapper(endpoint)
w.setQuery(SELECT)
doc = w.query().convert()
out['wrapper_select'] = [n.firstChild.data for n in doc.getElementsByTagName('literal')]
w.setQuery(ASK)
doc = w.query().convert()
out['wrapper_ask'] = doc.getElementsByTagName('boolean')[0].firstChild.data
for name, q in (('construct', CONSTRUCT), ('describe', DESCRIBE)):
    w.setQuery(q)
    res = w.query()
    out[f'wrapper_{name}_type'] = res.info().get('content-type')
    g = res.convert()
    out[f'wrapper_{name}'] = sorted(f'{s} {p} {o}' for s, p, o in g)

# rdflib: a Graph over a SPARQLStore, as its documentation shows.
graph = rdflib.Graph(store=SPARQLStore(query_endpoint=endpoint))
out['rdflib_select'] = [str(row.id) for row in graph.query(SELECT)]
out['rdflib_ask'] = bool(graph.query(ASK).askAnswer)
for name, q in (('construct', CONSTRUCT), ('describe', DESCRIBE)):
    out[f'rdflib_{name}'] = sorted(f'{s} {p} {o}' for s, p, o in graph.query(q).graph)
print(json.dumps(out))
