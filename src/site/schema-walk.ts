/**
 * Finding one field's schema inside the site schema: used to suggest known keys for a misspelt one and to write a
 * field's description as a comment. Knows the few zod wrappers the site schema uses.
 */
import { z } from 'zod';

export interface FieldInfo {
  /** The schema with optional/default wrappers removed. */
  schema: z.ZodType;
  /** The field's description: from the outermost wrapper that has one. */
  description: string | undefined;
  optional: boolean;
  /** The default value, when the field has one. */
  defaultValue?: unknown;
}

/** Removes optional/default/prefault/nullable wrappers, keeping the first description seen on the way in. */
export function unwrap(schema: z.ZodType): FieldInfo {
  let current: z.ZodType = schema;
  let description = current.description;
  let optional = false;
  let defaultValue: unknown;
  let hasDefault = false;
  for (;;) {
    if (current instanceof z.ZodOptional) {
      optional = true;
      current = current.unwrap() as z.ZodType;
    } else if (current instanceof z.ZodDefault || current instanceof z.ZodPrefault) {
      optional = true;
      if (!hasDefault) {
        hasDefault = true;
        defaultValue = (current._zod.def as { defaultValue: unknown }).defaultValue;
      }
      current = current.unwrap() as z.ZodType;
    } else if (current instanceof z.ZodNullable) {
      current = current.unwrap() as z.ZodType;
    } else {
      break;
    }
    description ??= current.description;
  }
  const info: FieldInfo = { schema: current, description, optional };
  if (hasDefault) info.defaultValue = defaultValue;
  return info;
}

/**
 * The object shape for a value at this schema: the object's own shape, or for a discriminated union the shape of the
 * option the value's discriminator selects (undefined when it selects none).
 */
export function shapeOf(schema: z.ZodType, value: unknown): Record<string, z.ZodType> | undefined {
  const inner = unwrap(schema).schema;
  if (inner instanceof z.ZodObject) return inner.shape as Record<string, z.ZodType>;
  if (inner instanceof z.ZodDiscriminatedUnion) {
    const discriminator = (inner._zod.def as { discriminator: string }).discriminator;
    const tag = isRecord(value) ? value[discriminator] : undefined;
    for (const option of inner.options as z.ZodType[]) {
      const optionShape = shapeOf(option, undefined);
      const literal = optionShape?.[discriminator];
      if (literal instanceof z.ZodLiteral && literal.values.has(tag as never)) return optionShape;
    }
  }
  return undefined;
}

/** The schema of the field at `path` in `data`, or undefined when the path leaves the schema. */
export function schemaAt(root: z.ZodType, path: readonly PropertyKey[], data: unknown): z.ZodType | undefined {
  let schema: z.ZodType = root;
  let value: unknown = data;
  for (const segment of path) {
    const inner = unwrap(schema).schema;
    if (typeof segment === 'number') {
      if (!(inner instanceof z.ZodArray)) return undefined;
      schema = inner.element as z.ZodType;
      value = Array.isArray(value) ? value[segment] : undefined;
    } else {
      const shape = shapeOf(inner, value);
      const next = shape?.[String(segment)];
      if (!next) return undefined;
      schema = next;
      value = isRecord(value) ? value[String(segment)] : undefined;
    }
  }
  return schema;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
