/**
 * `${VAR}` and `${VAR:default}` substitution in parsed YAML values. Substituting after parsing (not in
 * the raw text) keeps YAML syntax intact whatever a secret contains, and lets errors name the key.
 */
const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}/g;

export interface SubstitutionProblem {
  path: string;
  variable: string;
}

export function substituteEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  problems: SubstitutionProblem[],
  path = '',
): unknown {
  if (typeof value === 'string') {
    return value.replace(PLACEHOLDER, (_match, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      problems.push({ path, variable: name });
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => substituteEnv(item, env, problems, `${path}[${i}]`));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, substituteEnv(v, env, problems, path ? `${path}.${k}` : k)]),
    );
  }
  return value;
}
