import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultHarmonizationConfig, loadHarmonizationConfig, modalityConfigText } from '../../../src/harmonize/dispatch.js';
import { repoRoot, tempDir } from '../../helpers/paths.js';

describe('the harmonisation config', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  test('the example file loads: each section merged over its defaults, the rest untouched', () => {
    const c = loadHarmonizationConfig(join(repoRoot, 'examples', 'harmonization.yml'), '/data');
    const d = defaultHarmonizationConfig('/data');
    expect(c.genomic.filter).toEqual({ ...d.genomic.filter, minQual: 30, minDepth: 10 });
    expect(c.eeg.notch.frequencies).toEqual([50]);
    expect(c.eeg.bandpass).toEqual(d.eeg.bandpass);
    expect(c.combat).toMatchObject({ modalities: ['ecg', 'eeg', 'mri'], minRecordsPerSite: 3, meanOnly: false });
    expect(c.referenceDir).toBe('/data');
    expect(c.mri).toEqual(d.mri);
  });

  test('unknown sections and settings are refused by name; a setting change changes the records it concerns only', () => {
    const bad = join(dir.path, 'bad.json');
    writeFileSync(bad, JSON.stringify({ eeg: { bandpas: { low: 1 } } }));
    expect(() => loadHarmonizationConfig(bad)).toThrow(/bad\.json, field eeg\.bandpas: unknown setting/);
    writeFileSync(bad, JSON.stringify({ video: {} }));
    expect(() => loadHarmonizationConfig(bad)).toThrow(/field video: unknown section/);
    writeFileSync(bad, JSON.stringify({ version: 2 }));
    expect(() => loadHarmonizationConfig(bad)).toThrow(/config version 2 is not supported/);
    const changed = join(dir.path, 'ok.json');
    writeFileSync(changed, JSON.stringify({ eeg: { samplingRate: 256 }, referenceDir: 'refs' }));
    const c = loadHarmonizationConfig(changed);
    const d = defaultHarmonizationConfig();
    expect(c.referenceDir).toBe(join(dir.path, 'refs'));
    expect(modalityConfigText(c, 'eeg')).not.toBe(modalityConfigText(d, 'eeg'));
    expect(modalityConfigText(c, 'ecg')).toBe(modalityConfigText(d, 'ecg'));
  });
});
