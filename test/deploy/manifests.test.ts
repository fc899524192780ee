import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../deploy/k8s');

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes documents are checked field by field below.
type Doc = any;
const docs: Doc[] = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
  .flatMap((f) => parseAllDocuments(fs.readFileSync(path.join(dir, f), 'utf8')).map((d) => d.toJS()));
const byKind = (kind: string) => docs.filter((d) => d?.kind === kind);
const services = ['product', 'order', 'inventory', 'payment', 'notification', 'orchestrator', 'gateway'];

describe('Kubernetes manifests', () => {
  it('list every manifest in the kustomization', () => {
    const k = parseAllDocuments(fs.readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8'))[0]?.toJS();
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect([...k.resources].sort()).toEqual(files.sort());
  });

  it('give every service a Deployment whose environment its config accepts', async () => {
    const config = byKind('ConfigMap').find((c) => c.metadata.name === 'shop-config').data;
    const secret = byKind('Secret').find((s) => s.metadata.name === 'shop-secrets').stringData;
    for (const name of services) {
      const deployment = byKind('Deployment').find((d) => d.metadata.name === name);
      expect(deployment, name).toBeDefined();
      const container = deployment.spec.template.spec.containers[0];
      expect(container.command.at(-1)).toBe(`services/${name}/src/main.ts`);
      const env = {
        ...config,
        ...secret,
        ...Object.fromEntries(container.env.map((e: Doc) => [e.name, e.value])),
      };
      const { readConfig } = await import(path.resolve(dir, `../../services/${name}/src/config.ts`));
      // Throws SERVICE_INVALID_CONFIG naming every variable it refuses.
      const parsed = readConfig(env);
      expect(parsed.HOST, name).toBe('0.0.0.0');
      if ('SLUICE_DB' in parsed) expect(parsed.SLUICE_DB).toMatch(/^postgres:\/\//);
      if ('SLUICE_BROKER' in parsed) expect(parsed.SLUICE_BROKER).toMatch(/^nats:\/\//);
    }
  });

  it('line up container ports, probes and Services', () => {
    for (const name of services) {
      const container = byKind('Deployment').find((d) => d.metadata.name === name).spec.template.spec
        .containers[0];
      const service = byKind('Service').find((s) => s.metadata.name === name);
      const named = new Set(container.ports.map((p: Doc) => p.name));
      for (const p of service.spec.ports) expect(named.has(p.targetPort), `${name} ${p.name}`).toBe(true);
      expect(container.readinessProbe.httpGet.path).toBe('/readyz');
      expect(container.livenessProbe.httpGet.path).toBe('/healthz');
      expect(service.spec.selector).toEqual({ app: name });
    }
  });
});
